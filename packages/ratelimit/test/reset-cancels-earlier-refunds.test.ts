/**
 * A `reset` gives back every unit taken so far, those of open reservations included; a reservation
 * made before it and settled or released after it gives nothing back a second time (README: a
 * refund "never [gives back] capacity that has come back since (and may have been taken again)").
 * `reset` stamps each limit with the store time; a refund of a reservation checked at or before
 * that stamp is dropped. A reservation made after the reset refunds as usual. Every algorithm,
 * across instances on Redis, on a Redis Cluster and on one memory store.
 */
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions, type RateLimiter } from '@aikit/ratelimit'
import {
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
let cluster: RedisClusterHandle
const runId = Math.random().toString(36).slice(2, 8)
const redisStores: Store[] = []
let clusterStore: Store
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedis(), startRedisCluster()])
  const options = { prefix: `r${runId}`, commandTimeoutMs: 5_000 }
  for (let i = 0; i < 3; i++) {
    const c = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(c)
    redisStores.push(redisStore(c, options))
  }
  const clustered = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(clustered)
  clusterStore = redisStore(clustered, options)
}, 120_000)
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

const ALGORITHMS = ['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const
const ALL_FOUR: LimitOptions[] = [
  { algorithm: 'gcra', limit: 10, window: '1h' },
  { algorithm: 'fixed-window', limit: 10, window: '1h' },
  { algorithm: 'sliding-window', limit: 10, window: '1h' },
  { algorithm: 'token-bucket', limit: 10, window: '1h' },
]

/** Three instances (one per connection) on Redis. */
const onRedis = (limits: LimitOptions[]): RateLimiter[] =>
  redisStores.map((store) =>
    createRateLimiter({ store, prefix: 'rr', limits, onStoreError: 'closed' })
  )

/**
 * Reserves 8 of 10 on `a`, resets on `b`, takes the whole limit on `c`, then ends the reservation
 * with `end`: nothing may come back, so nothing more is allowed in the window.
 */
async function reserveResetTakeAll(
  [a, b, c]: RateLimiter[],
  key: string,
  end: (hold: Awaited<ReturnType<RateLimiter['reserve']>>) => Promise<void>
): Promise<void> {
  const hold = await a!.reserve(key, 8)
  expect(hold.allowed).toBe(true)
  await b!.reset(key) // gives the 8 units back
  expect((await c!.check(key, { cost: 10 })).allowed).toBe(true) // another client takes them all
  await end(hold) // must not give the 8 units back again
  expect((await b!.check(key, { cost: 0 })).remaining).toBe(0)
  const rs = await Promise.all(Array.from({ length: 8 }, () => a!.check(key)))
  expect(rs.filter((r) => r.allowed)).toHaveLength(0)
}

describe('a reservation made before a reset gives nothing back after it', () => {
  for (const algorithm of ALGORITHMS) {
    const limits: LimitOptions[] = [{ algorithm, limit: 10, window: '1h' }]
    it(`${algorithm} on Redis: release after another instance's reset`, async () => {
      await reserveResetTakeAll(onRedis(limits), `release-${algorithm}`, (h) => h.release())
    })
    it(`${algorithm} on Redis: settle below the estimate after another instance's reset`, async () => {
      await reserveResetTakeAll(onRedis(limits), `settle-${algorithm}`, (h) => h.settle(2))
    })
    it(`${algorithm} on one memory store, one limiter`, async () => {
      const l = createRateLimiter({ store: memoryStore(), limits })
      await reserveResetTakeAll([l, l, l], 'm', (h) => h.release())
    })
  }

  it('all four algorithms at once, on Redis', async () => {
    await reserveResetTakeAll(onRedis(ALL_FOUR), 'all-four', (h) => h.release())
  })

  it('all four algorithms at once, on a Redis Cluster (one hash slot per key)', async () => {
    const ls = [0, 1, 2].map(() =>
      createRateLimiter({ store: clusterStore, prefix: 'rr', limits: ALL_FOUR })
    )
    await reserveResetTakeAll(ls, 'cluster', (h) => h.release())
  })

  it('a settle above the estimate still charges the excess', async () => {
    const [a, b] = onRedis([{ algorithm: 'fixed-window', limit: 10, window: '1h' }])
    const hold = await a!.reserve('excess', 4)
    await b!.reset('excess')
    await hold.settle(7) // 3 more than reserved: charged whatever the reset did
    expect((await b!.check('excess', { cost: 0 })).remaining).toBe(7)
  })
})

describe('a reservation made after a reset refunds as usual', () => {
  for (const algorithm of ALGORITHMS) {
    const limits: LimitOptions[] = [{ algorithm, limit: 10, window: '1h' }]
    it(`${algorithm} on Redis`, async () => {
      const [a, b] = onRedis(limits)
      const key = `after-${algorithm}`
      expect((await a!.check(key, { cost: 3 })).allowed).toBe(true)
      await b!.reset(key)
      const hold = await a!.reserve(key, 8)
      expect(hold.allowed).toBe(true)
      expect((await b!.check(key, { cost: 0 })).remaining).toBe(2)
      await hold.settle(5)
      expect((await b!.check(key, { cost: 0 })).remaining).toBe(5)
    })
    it(`${algorithm} on a memory store`, async () => {
      const l = createRateLimiter({ store: memoryStore(), limits })
      await l.reset('k')
      const hold = await l.reserve('k', 8)
      await hold.release()
      expect((await l.check('k', { cost: 0 })).remaining).toBe(10)
    })
  }

  it('a reset leaves the other keys and the other limiters of the key alone', async () => {
    const store = memoryStore()
    const hourly = createRateLimiter({ store, limits: [{ limit: 10, window: '1h' }] })
    const daily = createRateLimiter({ store, limits: [{ limit: 10, window: '1d' }] })
    const held = [
      await hourly.reserve('k', 8),
      await hourly.reserve('j', 8),
      await daily.reserve('k', 8),
    ]
    await hourly.reset('k')
    for (const h of held) await h.release()
    expect((await hourly.check('j', { cost: 0 })).remaining).toBe(10)
    expect((await daily.check('k', { cost: 0 })).remaining).toBe(10)
  })
})
