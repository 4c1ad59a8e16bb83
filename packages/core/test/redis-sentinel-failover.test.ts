/**
 * `redisStore` behind Redis Sentinel (a master, its replica and one sentinel, all real servers):
 * - it refuses a Sentinel client without ioredis `failoverDetector: true` (such a client stays on
 *   the old master after a `SENTINEL FAILOVER` and its acknowledged writes are wiped when that
 *   server resyncs), and accepts one with it; a Cluster client is not taken for a Sentinel one;
 * - with the detector, a `SENTINEL FAILOVER` moves the calls to the new master at once and the
 *   replicated counter continues;
 * - a killed master: calls fail fast while it is down, then run on the promoted replica (scripts
 *   loaded again, the replicated counter kept), with `degraded` then `recovered`;
 * - a connection left on a demoted master (`READONLY`) counts as an outage, and the store recovers
 *   by itself once that server takes writes again.
 */
import { once } from 'node:events'
import { defineOp, InvalidOptionsError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { rawCommand, startRedis, whenReady } from '@aikit/testing/redis'
import {
  type RedisSentinelWithReplicaHandle,
  startRedisSentinelWithReplica,
} from '@aikit/testing/sentinel'
import { Cluster, Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'

const HOST = '127.0.0.1'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  let last: unknown
  while (Date.now() < deadline) {
    try {
      if (await fn()) return
    } catch (e) {
      last = e
    }
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what} (${String(last)})`)
}

let current: RedisSentinelWithReplicaHandle | undefined

afterEach(async () => {
  await current?.stop()
  current = undefined
})

async function setup(): Promise<RedisSentinelWithReplicaHandle> {
  current = await startRedisSentinelWithReplica()
  return current
}

const incr = defineOp({
  name: 'sentinel-failover-incr',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0]!, Number(argv[0])),
  encode: (n: number) => [String(n)],
  decode: (reply) => reply as number,
})

const storeOptions = { commandTimeoutMs: 300, breaker: { failureThreshold: 3, openMs: 200 } }
const portOf = (client: Redis) =>
  (client as unknown as { stream?: { remotePort?: number } }).stream?.remotePort

/** Runs the op every 50 ms until it succeeded 3 times in a row on `port` (bounded). */
async function untilServedBy(
  client: Redis,
  fn: () => Promise<number>,
  port: number,
  ms = 20_000
): Promise<{ values: number[]; errors: string[] }> {
  const deadline = Date.now() + ms
  const values: number[] = []
  const errors: string[] = []
  let inARow = 0
  while (Date.now() < deadline && inARow < 3) {
    try {
      const v = await fn()
      if (portOf(client) === port) {
        values.push(v)
        inARow++
      } else inARow = 0
    } catch (e) {
      errors.push((e as Error).message)
      inARow = 0
    }
    await sleep(50)
  }
  return { values, errors }
}

describe('a Sentinel client without failoverDetector', () => {
  const sentinels = [{ host: HOST, port: 1 }]
  const clients: Array<Redis | Cluster> = []
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect()
  })
  const lazy = <T extends Redis | Cluster>(client: T): T => {
    clients.push(client)
    return client
  }

  it.each([
    ['left to the ioredis default', {}],
    ['set to false', { failoverDetector: false }],
  ])('is refused, naming `client` and the option to set (%s)', (_, extra) => {
    const client = lazy(new Redis({ sentinels, name: 'm', lazyConnect: true, ...extra }))
    let error: unknown
    try {
      redisStore(client)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('client')
    expect((error as Error).message).toMatch(/Sentinel.*failoverDetector: true/)
  })

  it('is accepted with failoverDetector: true', () => {
    const client = lazy(
      new Redis({ sentinels, name: 'm', failoverDetector: true, lazyConnect: true })
    )
    expect(() => redisStore(client)).not.toThrow()
  })

  it('does not concern a plain client or a Cluster client (even with sentinels in redisOptions)', () => {
    // A Cluster finds its nodes from its slot table and hears of its failovers from the nodes
    // (MOVED): its options hold no `sentinels`, and ioredis has no Cluster-over-Sentinel mode (its
    // types leave `sentinels` out of `redisOptions`; a JavaScript caller may still pass them).
    expect(() => redisStore(lazy(new Redis({ port: 1, lazyConnect: true })))).not.toThrow()
    const options = { lazyConnect: true, redisOptions: { sentinels, name: 'm' } }
    const cluster = lazy(new Cluster([{ host: HOST, port: 1 }], options as never))
    expect(() => redisStore(cluster)).not.toThrow()
  })
})

it('SENTINEL FAILOVER (failoverDetector: true): calls move to the new master at once and the replicated counter continues', async () => {
  const s = await setup()
  const client = s.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  // The detector subscribes to the sentinel's +switch-master once the client is connected.
  const subscribed = once(client, 'failoverSubscribed')
  // Connected before the first call: on a loaded machine, finding the master through the sentinel
  // can take longer than the store's command timeout.
  await whenReady(client)
  const store = redisStore(client, storeOptions)
  const key = store.key('t', 'det')
  for (let i = 0; i < 5; i++) await store.run(incr, [key], 1)
  await subscribed
  await waitFor('replicated', async () => (await rawCommand(s.replica.port, ['GET', key])) === '5')
  await s.failover()
  const seen = await untilServedBy(client, () => store.run(incr, [key], 1), s.replica.port, 15_000)
  expect(seen.values.length).toBe(3)
  // At most the writes sent in the instant of the switch are lost (asynchronous replication).
  expect(seen.values[0]).toBeGreaterThanOrEqual(6)
  expect(store.breakerState).toBe('closed')
}, 60_000)

it('SIGKILL of the master: calls fail fast while down, then succeed on the promoted replica (scripts reloaded, replicated counter kept), degraded then recovered', async () => {
  const s = await setup()
  const client = s.client({
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    sentinelRetryStrategy: () => 50,
  })
  await whenReady(client)
  const store = redisStore(client, storeOptions)
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  store.on('recovered', (i) => events.push(`recovered:${i.reason}`))
  const key = store.key('t', 'kill')
  for (let i = 0; i < 5; i++) await store.run(incr, [key], 1)
  await waitFor('replicated', async () => (await rawCommand(s.replica.port, ['GET', key])) === '5')
  // The replica has no script loaded: its first EVALSHA as master gets NOSCRIPT.
  expect(await rawCommand(s.replica.port, ['INFO', 'memory'])).toContain(
    'number_of_cached_scripts:0'
  )
  await s.master.kill()
  const seen = await untilServedBy(client, () => store.run(incr, [key], 1), s.replica.port, 25_000)
  // Served by the new master, the counter continued from the replicated 5. A call the store
  // gave up on during the switch may still have landed (ioredis resends it on reconnect, see
  // redisStore's docs), or been served before the client's address changed: 6 or more.
  expect(seen.values.length).toBe(3)
  const [first] = seen.values as [number]
  expect(first).toBeGreaterThanOrEqual(6)
  expect(seen.values).toEqual([first, first + 1, first + 2])
  expect(seen.errors.length).toBeGreaterThan(0)
  expect(events).toEqual(['degraded', 'recovered:probe-succeeded'])
  expect(store.breakerState).toBe('closed')
  expect(await store.get(key)).toBe(String(first + 2))
  expect(await rawCommand(s.replica.port, ['INFO', 'memory'])).not.toContain(
    'number_of_cached_scripts:0'
  )
}, 60_000)

it('a connection left on a demoted master (READONLY): writes fail as an outage, reads do not hide it, and the store recovers by itself once the node takes writes again', async () => {
  // No 5 s wait before the full sync (Redis 7 waits for more replicas by default).
  const master = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] })
  const replica = await startRedis({ args: ['--replicaof', HOST, String(master.port)] })
  try {
    await waitFor('replica link up', async () =>
      (await rawCommand(replica.port, ['INFO', 'replication'])).includes('master_link_status:up')
    )
    const client = replica.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    await whenReady(client)
    const store = redisStore(client, storeOptions)
    const events: string[] = []
    store.on('degraded', () => events.push('degraded'))
    store.on('recovered', (i) => events.push(`recovered:${i.reason}`))
    const key = store.key('t', 'ro')
    const errors: string[] = []
    for (let i = 0; i < 4; i++) {
      await store.run(incr, [key], 1).catch((e: Error) => errors.push(`${e.name}:${e.message}`))
    }
    expect(errors[0]).toMatch(/^StoreUnavailableError:.*READONLY/)
    expect(errors[3]).toMatch(/circuit open/)
    expect(events).toEqual(['degraded'])
    // Reads keep working and do not close the circuit while writes are refused.
    for (let i = 0; i < 5; i++) {
      await sleep(250)
      await store.get(key).catch(() => {})
    }
    expect(events).toEqual(['degraded'])
    expect(store.breakerState).not.toBe('closed')
    // The node is promoted in place: the store's own write probe closes the circuit.
    await rawCommand(replica.port, ['REPLICAOF', 'NO', 'ONE'])
    await waitFor(
      'store writes again',
      async () => {
        try {
          await store.run(incr, [key], 1)
          return true
        } catch {
          return false
        }
      },
      5_000
    )
    expect(events).toEqual(['degraded', 'recovered:probe-succeeded'])
  } finally {
    await Promise.all([master.stop(), replica.stop()])
  }
}, 60_000)
