/**
 * The limiter on a batching redisStore (`batch: true`), where many checks of one key run inside one
 * script call: every concurrent check must see the writes of the checks before it. 1,000
 * concurrent checks against a limit of 100 on one key allow exactly 100 (every algorithm and a
 * multi-limit), and a concurrent mixed sequence over several keys gives exactly the decisions the
 * memory store gives for the same sequence (blocked keys included), as do waves of checks over
 * distinct keys.
 */
import { memoryStore } from '@aikit/core'
import { type RedisStore, redisStore } from '@aikit/core/redis'
import { type CheckResult, createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
let client: Redis
let store: RedisStore
let evalshas = 0

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const evalsha = client.evalsha.bind(client)
  Object.assign(client, {
    evalsha: (...args: Parameters<typeof evalsha>) => {
      evalshas++
      return evalsha(...args)
    },
  })
  store = redisStore(client, { prefix: 'batched', commandTimeoutMs: 5_000, batch: true })
})

afterAll(async () => {
  await server?.stop()
})

const cases: { name: string; limits: LimitOptions[] }[] = [
  ...(['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const).map((algorithm) => ({
    name: algorithm,
    limits: [{ algorithm, limit: 100, window: '1h' as const }],
  })),
  {
    name: 'multi-limit',
    limits: [
      { limit: 300, window: '1h' },
      { algorithm: 'fixed-window', limit: 100, window: '1d' },
    ],
  },
]

describe('1,000 concurrent checks on one key, limit 100, batched', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const limiter = createRateLimiter({ store, limits: c.limits, prefix: `race-${c.name}` })
      const before = evalshas
      const results = await Promise.all(Array.from({ length: 1000 }, () => limiter.check('k')))
      expect(results.filter((r) => r.allowed)).toHaveLength(100)
      // Batched indeed: far fewer script calls than checks.
      expect(evalshas - before).toBeLessThan(100)
      // The allowed ones counted down in order: 99, 98, ... 0 left.
      expect(results.filter((r) => r.allowed).map((r) => r.remaining)).toEqual(
        Array.from({ length: 100 }, (_, i) => 99 - i)
      )
    })
  }
})

describe('concurrent mixed sequence: same decisions as the memory store', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const limits = c.limits.map((l) => ({ ...l, limit: Math.ceil(l.limit / 20) }))
      const prefix = `mixed-${c.name}`
      const remote = createRateLimiter({ store, limits, prefix })
      const local = createRateLimiter({ store: memoryStore(), limits, prefix })
      await Promise.all([remote.block('blocked', 3_600_000), local.block('blocked', 3_600_000)])
      const calls = Array.from({ length: 300 }, (_, i) => ({
        key: ['a', 'b', 'c', 'blocked'][i % 4] as string,
        cost: [1, 0, 2, 1, 3, 1, 7][i % 7] as number,
      }))
      const summary = (r: Awaited<ReturnType<typeof remote.check>>) => ({
        allowed: r.allowed,
        remaining: r.remaining,
        blocked: r.blocked ?? false,
        limits: r.limits.map((l) => [l.remaining, Math.sign(l.retryAfterMs)]),
      })
      const fromRedis = await Promise.all(calls.map(({ key, cost }) => remote.check(key, { cost })))
      const fromMemory = await Promise.all(calls.map(({ key, cost }) => local.check(key, { cost })))
      expect(fromRedis.map(summary)).toEqual(fromMemory.map(summary))
      expect(fromRedis.some((r) => r.allowed)).toBe(true)
      expect(fromRedis.some((r) => !r.allowed && r.blocked === undefined)).toBe(true)
      expect(fromRedis.filter((r) => r.blocked).length).toBe(75)
    })
  }
})

describe('waves over distinct keys, batched: same decisions as memory', () => {
  for (const algorithm of ['gcra', 'fixed-window'] as const) {
    it(algorithm, async () => {
      const limits = [{ algorithm, limit: 3, window: '1h' as const }]
      const prefix = `waves-${algorithm}`
      const remote = createRateLimiter({ store, limits, prefix })
      const local = createRateLimiter({ store: memoryStore(), limits, prefix })
      await Promise.all([remote.block('u7', 3_600_000), local.block('u7', 3_600_000)])
      const keys = Array.from({ length: 40 }, (_, i) => `u${i}`)
      const before = evalshas
      for (let wave = 0; wave < 5; wave++) {
        const cost = wave === 2 ? 2 : 1
        const fromRedis = await Promise.all(keys.map((k) => remote.check(k, { cost })))
        const fromMemory = await Promise.all(keys.map((k) => local.check(k, { cost })))
        const summary = (r: (typeof fromRedis)[number]) =>
          `${r.allowed}/${r.remaining}/${r.blocked ?? false}/${Math.sign(r.retryAfterMs)}`
        expect(fromRedis.map(summary), `wave ${wave}`).toEqual(fromMemory.map(summary))
      }
      // Batched indeed: 9 script calls per wave of 40 checks (each call goes once its queue holds
      // a third of the calls waiting: 1, 1, 1, 2, 3, 4, 6, 9, then the last 13), not 40.
      expect(evalshas - before).toBe(5 * 9)
      // Costs 1, 1, (2 denied), 1, (1 denied): the limit of 3 is used up.
      const last = await remote.check('u0')
      expect(last.allowed).toBe(false)
    })
  }
})

describe('one limiter, one cost per wave (the batch fast path): the replies of one call per check', () => {
  for (const algorithm of ['gcra', 'fixed-window'] as const) {
    it(algorithm, async () => {
      // A client that records whether each script call was answered by the fast path (one string).
      const recording = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(recording)
      const replies: string[] = []
      const evalsha = recording.evalsha.bind(recording)
      Object.assign(recording, {
        evalsha: async (...args: Parameters<typeof evalsha>) => {
          const reply = await evalsha(...args)
          replies.push(typeof reply)
          return reply
        },
      })
      const batched = redisStore(recording, { prefix: 'fast', commandTimeoutMs: 5_000 })
      const single = redisStore(client, { prefix: 'fast', batch: false })
      const limits = [{ algorithm, limit: 3, window: '1d' as const }]
      const prefix = `fast-${algorithm}`
      const fast = createRateLimiter({ store: batched, limits, prefix, blockCache: false })
      const slow = createRateLimiter({
        store: single,
        limits,
        prefix: `${prefix}-1`,
        blockCache: false,
      })
      await Promise.all([fast.block('u5', 3_600_000), slow.block('u5', 3_600_000)])
      const keys = Array.from({ length: 12 }, (_, i) => `u${i % 8}`)
      // Cost 0 reads, 4 exceeds the limit (never allowed), 2 then 1 use up what is left.
      for (const cost of [1, 0, 4, 2, 1, 1]) {
        const fromBatch = await Promise.all(keys.map((k) => fast.check(k, { cost })))
        const oneByOne: CheckResult[] = []
        for (const k of keys) oneByOne.push(await slow.check(k, { cost }))
        const summary = (r: CheckResult) => ({
          allowed: r.allowed,
          remaining: r.remaining,
          limit: r.limit,
          blocked: r.blocked ?? false,
          retry: Math.sign(r.retryAfterMs),
          // A fixed window's reset is the window's end: the same for both. Not a blocked key's:
          // its block's end, set by one op per store, whose clocks may read a ms or two apart.
          ...(algorithm === 'fixed-window' && r.blocked !== true ? { resetAt: r.resetAt } : {}),
        })
        expect(fromBatch.map(summary), `cost ${cost}`).toEqual(oneByOne.map(summary))
      }
      expect(replies.filter((t) => t === 'string').length).toBeGreaterThanOrEqual(12)
      recording.disconnect()
    })
  }
})
