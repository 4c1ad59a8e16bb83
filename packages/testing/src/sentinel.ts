/**
 * @module sentinel
 * A Redis Sentinel set-up for tests: one master (a real redis-server) watched by one sentinel, both
 * on free loopback ports, so ioredis's `{ sentinels, name }` client can be tested for real.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { removeTrackedDir, trackDir, trackProcess } from './processes.js'
import { freePort, type RedisServer, rawCommand, startRedis } from './redis.js'

const HOST = '127.0.0.1'
const REDIS_SERVER = process.env.AIKIT_REDIS_SERVER ?? 'redis-server'
const WAIT_MS = 15_000

/** The master name the sentinel monitors. */
export const SENTINEL_MASTER_NAME = 'aikit-master'

/** A running master + sentinel pair. */
export interface RedisSentinelHandle {
  /** The master redis-server. */
  master: RedisServer
  /** The sentinel's address. */
  sentinel: { host: string; port: number }
  /** A new ioredis client that finds the master through the sentinel (tracked, closed on stop). */
  client(options?: Omit<RedisOptions, 'sentinels' | 'name' | 'replyMapping'>): Redis
  stop(): Promise<void>
}

/** Starts a master and one sentinel monitoring it; resolves once the sentinel knows the master. */
export async function startRedisSentinel(): Promise<RedisSentinelHandle> {
  const master = await startRedis()
  const dir = mkdtempSync(join(tmpdir(), 'aikit-sentinel-'))
  trackDir(dir)
  const port = await freePort()
  const conf = join(dir, 'sentinel.conf')
  // Sentinel rewrites its own config file, so it lives in a writable temp dir.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${master.port} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 2000`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
      '',
    ].join('\n')
  )
  const child: ChildProcess = spawn(REDIS_SERVER, [conf, '--sentinel'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  // Killed with the test process, however that ends (like the servers of ./redis).
  trackProcess(child)
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  }).then(() => {
    exited = true
  })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000)
  })
  const clients = new Set<Redis>()
  const stop = async (): Promise<void> => {
    for (const c of clients) c.disconnect()
    clients.clear()
    if (!exited) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exit
      clearTimeout(timer)
    }
    await master.stop()
    removeTrackedDir(dir)
  }
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const reply = await rawCommand(port, [
      'SENTINEL',
      'get-master-addr-by-name',
      SENTINEL_MASTER_NAME,
    ]).catch(() => '')
    // rawCommand returns an array reply's length line: 2 once the master is known, -1 before.
    if (reply === '2') break
    if (Date.now() > deadline || exited) {
      await stop()
      throw new Error(`sentinel on port ${port} did not come up\n${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    master,
    sentinel: { host: HOST, port },
    client(options) {
      const client = new Redis({
        ...options,
        sentinels: [{ host: HOST, port }],
        name: SENTINEL_MASTER_NAME,
      })
      client.on('error', () => {})
      clients.add(client)
      return client
    },
    stop,
  }
}
