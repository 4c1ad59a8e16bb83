/**
 * @module sentinel
 * A Redis Sentinel set-up for tests: one master (a real redis-server) watched by one sentinel, both
 * on free loopback ports, so ioredis's `{ sentinels, name }` client can be tested for real. Like
 * `./redis`, it only ever hands out servers it spawned: when another process took the sentinel's
 * picked port first, the sentinel moves to a fresh port.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { removeTrackedDir, trackDir } from './processes.js'
import { rawCommand } from './raw-command.js'
import { freePort, type RedisServer, startRedis } from './redis.js'
import { assertOwnServer, ServerProcess, WaitError, waitUntil } from './server-process.js'

const HOST = '127.0.0.1'
const WAIT_MS = 15_000
/** Launch attempts, each on a fresh port, when the picked port turns out to be taken. */
const ATTEMPTS = 3

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

/**
 * Spawns a sentinel on `port` monitoring `masterPort` and waits until it is ours and knows the
 * master. On failure the sentinel is killed before the error is thrown.
 */
async function launchSentinel(dir: string, port: number, masterPort: number) {
  const conf = join(dir, `sentinel-${port}.conf`)
  // Sentinel rewrites its own config file, so it lives in a writable temp dir.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER_NAME} ${HOST} ${masterPort} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 2000`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
      '',
    ].join('\n')
  )
  // Killed with the test process, however that ends (like the servers of ./redis).
  const sentinel = new ServerProcess([conf, '--sentinel'])
  try {
    await waitUntil(
      `the sentinel on port ${port} to know the master`,
      async () => {
        const reply = await rawCommand(port, [
          'SENTINEL',
          'get-master-addr-by-name',
          SENTINEL_MASTER_NAME,
        ])
        // rawCommand returns an array reply's length line: 2 once the master is known, -1 before.
        if (reply !== '2') return false
        await assertOwnServer(port, sentinel)
        return true
      },
      [sentinel],
      WAIT_MS
    )
  } catch (error) {
    await sentinel.stop('SIGKILL')
    throw error
  }
  return sentinel
}

/** Starts a master and one sentinel monitoring it; resolves once the sentinel knows the master. */
export async function startRedisSentinel(): Promise<RedisSentinelHandle> {
  const master = await startRedis()
  const dir = mkdtempSync(join(tmpdir(), 'aikit-sentinel-'))
  trackDir(dir)
  let port = 0
  let sentinel: ServerProcess | undefined
  try {
    for (let attempt = 1; !sentinel; attempt++) {
      port = await freePort()
      try {
        sentinel = await launchSentinel(dir, port, master.port)
      } catch (error) {
        // The port may have been taken in between (the sentinel then exits, or another process
        // answers there): retry on a fresh port. A timeout would happen again: give up.
        if (attempt >= ATTEMPTS || !(error instanceof WaitError && error.portLost)) throw error
      }
    }
  } catch (error) {
    await master.stop()
    removeTrackedDir(dir)
    throw new Error(`sentinel did not come up: ${(error as Error).message}`, { cause: error })
  }
  const running = sentinel
  const clients = new Set<Redis>()
  const stop = async (): Promise<void> => {
    for (const c of clients) c.disconnect()
    clients.clear()
    await running.stop('SIGTERM')
    await master.stop()
    removeTrackedDir(dir)
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
