/**
 * The largest and the smallest costs a check takes (Number.MAX_SAFE_INTEGER: can never fit, so
 * `retryAfterMs: -1`; 0: a read that consumes nothing) answer alike on memory and on Redis, for
 * every algorithm.
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

it('cost MAX_SAFE_INTEGER and 0 answer alike on memory and Redis, every algorithm', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const redis = redisStore(client, { commandTimeoutMs: 2_000 })
  for (const algorithm of ['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const) {
    const limits: LimitOptions[] = [{ algorithm, limit: 7, window: '1m' }]
    const mem = createRateLimiter({ store: memoryStore(), limits })
    const red = createRateLimiter({ store: redis, limits, prefix: `x${algorithm}` })
    for (const cost of [Number.MAX_SAFE_INTEGER, 0, 7, 1, 0]) {
      const a = await mem.check('k', { cost })
      const b = await red.check('k', { cost })
      expect([algorithm, cost, b.allowed, b.remaining, b.retryAfterMs === -1]).toEqual([
        algorithm,
        cost,
        a.allowed,
        a.remaining,
        a.retryAfterMs === -1,
      ])
    }
    expect((await mem.check('k', { cost: Number.MAX_SAFE_INTEGER })).retryAfterMs).toBe(-1)
  }
})
