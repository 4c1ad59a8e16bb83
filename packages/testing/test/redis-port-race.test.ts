/**
 * The launchers pick a port that "was free a moment ago" (freePort), then spawn redis-server on it.
 * When another server takes that port in between, it answers PING before the new server has failed
 * to bind: the launchers must never hand out a handle on a server they did not spawn (two tests
 * would share one server: FLUSHALL, data, kill/restart of the other's server). They check the
 * answering server's `process_id` and move to a fresh port.
 *
 * The race is made deterministic by letting freePort's probe report a port that is already taken
 * by a server this test started (node:net's createServer is replaced for that one call).
 */
import { spawn } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { afterAll, describe, expect, it, vi } from 'vitest'

/** Ports the next createServer() probes report, in order (`null`: a real probe). */
const forced = vi.hoisted(() => [] as (number | null)[])

vi.mock('node:net', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:net')>()
  /** What freePort sees: a server that "listened on port 0" and got `port`. */
  const probe = (port: number) => ({
    unref() {},
    once() {},
    listen(_port: number, _host: string, cb: () => void) {
      queueMicrotask(cb)
    },
    address: (): AddressInfo => ({ address: '127.0.0.1', family: 'IPv4', port }),
    close(cb: () => void) {
      queueMicrotask(cb)
    },
  })
  return {
    ...actual,
    createServer: ((...args: Parameters<typeof actual.createServer>) => {
      const port = forced.shift()
      return port === undefined || port === null ? actual.createServer(...args) : probe(port)
    }) as typeof actual.createServer,
  }
})

const { rawCommand, startRedis, startRedisCluster } = await import('../src/redis.js')
const { startRedisSentinel } = await import('../src/sentinel.js')
const { trackProcess } = await import('../src/processes.js')
const started: { stop(): Promise<void> }[] = []

afterAll(async () => {
  forced.length = 0
  for (const s of started) await s.stop()
})

/** The pid of the server answering on `port`. */
async function pidOn(port: number): Promise<number> {
  const info = await rawCommand(port, ['INFO', 'server'])
  return Number(/^process_id:(\d+)/m.exec(info)?.[1])
}

describe('startRedis when its port is taken by another redis-server in between', () => {
  it('resolves with a server of its own on a fresh port, not the one that took the port', async () => {
    const other = await startRedis()
    started.push(other)
    await other.client().set('owner', 'the other test')

    forced.push(other.port) // the port freePort reported is then taken by `other`
    const mine = await startRedis()
    started.push(mine)

    expect(mine.port).not.toBe(other.port)
    expect(await mine.client({ maxRetriesPerRequest: 1 }).get('owner')).toBeNull()
    expect(await other.client().get('owner')).toBe('the other test')
  })
})

describe('restart() when another server took the port while ours was down', () => {
  it('rejects naming the port, and leaves the other server alone', async () => {
    const mine = await startRedis()
    started.push(mine)
    await mine.kill()
    const intruder = spawn(
      process.env.AIKIT_REDIS_SERVER ?? 'redis-server',
      ['--port', String(mine.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore', cwd: tmpdir() }
    )
    trackProcess(intruder)
    try {
      while ((await rawCommand(mine.port, ['PING'], 300).catch(() => '')) !== 'PONG') {
        await new Promise((r) => setTimeout(r, 25))
      }
      await expect(mine.restart()).rejects.toThrow(
        new RegExp(`port ${mine.port} is answered by another process`)
      )
      expect(await pidOn(mine.port)).toBe(intruder.pid)
    } finally {
      intruder.kill('SIGKILL')
    }
  })
})

describe('startRedisCluster when a node port is taken by another redis-server in between', () => {
  it('builds the cluster on servers of its own only, also when the race strikes twice', async () => {
    const other = await startRedis()
    started.push(other)
    await other.client().set('owner', 'the other test')

    // The first node's port is taken by `other`; so is the one picked on a whole-set-up retry (a
    // launcher that does not notice would only fail cluster creation and start over): 3 nodes ×
    // (port, bus port), then the first node's port of the next try. Noticed at once, the first
    // node moves to a fresh port, and `other`'s port comes up again for the third node, which
    // moves too.
    forced.push(other.port, null, null, null, null, null, other.port)
    const cluster = await startRedisCluster()
    started.push(cluster)

    expect(cluster.nodes.map((n) => n.port)).not.toContain(other.port)
    expect(await other.client().get('owner')).toBe('the other test')
    const info = await rawCommand(other.port, ['INFO', 'cluster'])
    expect(info).toContain('cluster_enabled:0')
  })
})

describe('startRedisSentinel when the sentinel port is taken by another sentinel in between', () => {
  it('starts its own sentinel on a fresh port, which leads to its own master', async () => {
    const other = await startRedisSentinel()
    started.push(other)

    // The master's port is a real free one; the sentinel's port is then taken by `other`'s.
    forced.push(null, other.sentinel.port)
    const mine = await startRedisSentinel()
    started.push(mine)

    expect(mine.sentinel.port).not.toBe(other.sentinel.port)
    await mine.master.client().set('whose', 'mine')
    // The client that finds the master through the sentinel reaches this set-up's master.
    expect(await mine.client({ maxRetriesPerRequest: 1 }).get('whose')).toBe('mine')
  })
})
