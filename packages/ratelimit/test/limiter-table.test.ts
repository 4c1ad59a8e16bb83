/**
 * The shared table: every algorithm and two multi-limit combinations run the same call sequence on
 * memoryStore, a real redis-server and a real 3-node Redis Cluster; the `allowed` / `remaining`
 * sequences must be the expected (hence identical) ones everywhere. Windows are hours or days, so the
 * few milliseconds between calls never change a count; time fields are only checked loosely.
 */

import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import {
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

interface Step {
  allowed: boolean
  remaining: number
  limit: number
  /** Per-limit remaining. */
  limits: number[]
  /** Per-limit retry: 'ok' (would allow), 'wait' (> 0 ms), 'never' (-1). */
  retry: string[]
  /** Overall retry kind. */
  overall: string
}

const kind = (ms: number): string =>
  ms === 0 ? 'ok' : ms === -1 ? 'never' : ms > 0 ? 'wait' : `bad ${ms}`

interface Case {
  name: string
  limits: LimitOptions[]
  costs: number[]
  expected: Step[]
}

const step = (
  allowed: boolean,
  limits: number[],
  retry: string[],
  limit: number,
  overall = allowed ? 'ok' : 'wait'
): Step => ({ allowed, remaining: Math.min(...limits), limit, limits, retry, overall })

/** The same sequence for every single-limit algorithm: limit 5 per hour. */
const singleCosts = [1, 2, 3, 2, 1, 0, 6]
const singleExpected = [
  step(true, [4], ['ok'], 5),
  step(true, [2], ['ok'], 5),
  step(false, [2], ['wait'], 5), // 3 > 2 left: rejected, consumes nothing
  step(true, [0], ['ok'], 5), // so 2 still fit
  step(false, [0], ['wait'], 5),
  step(true, [0], ['ok'], 5), // cost 0 only reads
  step(false, [0], ['never'], 5, 'never'), // more than the limit: never allowed
]

const cases: Case[] = [
  ...(['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const).map((algorithm) => ({
    name: algorithm,
    limits: [{ algorithm, limit: 5, window: '1h' as const }],
    costs: singleCosts,
    expected: singleExpected,
  })),
  {
    name: 'gcra 3/1h + fixed-window 5/1d',
    limits: [
      { limit: 3, window: '1h' },
      { algorithm: 'fixed-window', limit: 5, window: '1d' },
    ],
    costs: [2, 2, 1, 1, 0],
    expected: [
      step(true, [1, 3], ['ok', 'ok'], 3),
      step(false, [1, 3], ['wait', 'ok'], 3), // the day limit is not charged by the rejection
      step(true, [0, 2], ['ok', 'ok'], 3),
      step(false, [0, 2], ['wait', 'ok'], 3),
      step(true, [0, 2], ['ok', 'ok'], 3),
    ],
  },
  {
    name: 'all four algorithms at once',
    limits: [
      { algorithm: 'token-bucket', limit: 10, window: '1h' },
      { algorithm: 'sliding-window', limit: 4, window: '1d' },
      { algorithm: 'fixed-window', limit: 6, window: 86_400_000 },
      { algorithm: 'gcra', limit: 5, window: '60m' },
    ],
    costs: [3, 2, 1, 0, 1, 11, 2],
    expected: [
      step(true, [7, 1, 3, 2], ['ok', 'ok', 'ok', 'ok'], 4),
      // only the sliding window rejects: the other three keep their 7, 3 and 2
      step(false, [7, 1, 3, 2], ['ok', 'wait', 'ok', 'ok'], 4),
      step(true, [6, 0, 2, 1], ['ok', 'ok', 'ok', 'ok'], 4),
      step(true, [6, 0, 2, 1], ['ok', 'ok', 'ok', 'ok'], 4),
      step(false, [6, 0, 2, 1], ['ok', 'wait', 'ok', 'ok'], 4),
      step(false, [6, 0, 2, 1], ['never', 'never', 'never', 'never'], 4, 'never'),
      step(false, [6, 0, 2, 1], ['ok', 'wait', 'ok', 'wait'], 4),
    ],
  },
]

let server: RedisServer
let cluster: RedisClusterHandle
const stores: Record<string, Store> = {}
const results: Record<string, Record<string, Step[]>> = {}
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedis(), startRedisCluster()])
  const single = server.client({ maxRetriesPerRequest: 1 })
  const clustered = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await Promise.all([whenReady(single), whenReady(clustered)])
  // A generous timeout: these tests are about results, not latency.
  const options = { prefix: `t${runId}`, commandTimeoutMs: 5_000 }
  stores.memory = memoryStore({ prefix: `t${runId}` })
  stores.redis = redisStore(single, options)
  stores.cluster = redisStore(clustered, options)
})

afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

describe.each(['memory', 'redis', 'cluster'])('%s store', (storeKind) => {
  for (const c of cases) {
    it(c.name, async () => {
      const limiter = createRateLimiter({ store: stores[storeKind]!, limits: c.limits })
      const out: Step[] = []
      for (const cost of c.costs) {
        const before = Date.now()
        const r = await limiter.check(`user-${c.name}`, { cost })
        // Loose time checks: resets lie between now and two of the longest window (+ slack; a
        // denied sliding window is fully replenished at the end of the next window).
        for (const l of r.limits) {
          expect(l.resetAt).toBeGreaterThanOrEqual(before - 5_000)
          expect(l.resetAt).toBeLessThanOrEqual(Date.now() + 2 * 86_400_000 + 5_000)
        }
        expect(r.limits.map((l) => l.limit)).toEqual(c.limits.map((l) => l.limit))
        out.push({
          allowed: r.allowed,
          remaining: r.remaining,
          limit: r.limit,
          limits: r.limits.map((l) => l.remaining),
          retry: r.limits.map((l) => kind(l.retryAfterMs)),
          overall: kind(r.retryAfterMs),
        })
      }
      results[c.name] = { ...results[c.name], [storeKind]: out }
      expect(out).toEqual(c.expected)
    })
  }
})

describe('all stores', () => {
  it('gave identical sequences for every case', () => {
    for (const c of cases) {
      const byStore = results[c.name]
      expect(Object.keys(byStore ?? {}).sort(), c.name).toEqual(['cluster', 'memory', 'redis'])
      expect(byStore?.redis, c.name).toEqual(byStore?.memory)
      expect(byStore?.cluster, c.name).toEqual(byStore?.memory)
    }
  })
})
