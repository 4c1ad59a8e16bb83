/**
 * A blocked key's answer: nothing left and no reset before the block ends, on every limit and on
 * both stores (the script's one-limit, batch and general paths and the in-process bodies), so the
 * 429's RateLimit / X-RateLimit-* headers agree with its Retry-After instead of inviting a retry.
 */
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions, rateLimit } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

const BLOCK_MS = 600_000
const shapes: Record<string, LimitOptions[]> = {
  'one gcra limit': [{ limit: 10, window: '1m' }],
  'one fixed-window limit': [{ algorithm: 'fixed-window', limit: 10, window: '1m' }],
  'two limits (general path)': [
    { limit: 10, window: '1m' },
    { algorithm: 'sliding-window', limit: 100, window: '1h' },
  ],
  'one token bucket': [{ algorithm: 'token-bucket', limit: 10, window: '1m' }],
}
const stores: Record<string, () => Promise<Store>> = {
  memory: async () => memoryStore(),
  redis: async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    return redisStore(client, { commandTimeoutMs: 2_000 })
  },
}

describe.each(Object.keys(stores))('a blocked key on %s', (storeName) => {
  it.each(Object.keys(shapes))('%s: nothing left, reset at the block end', async (shape) => {
    const limiter = createRateLimiter({
      store: await stores[storeName]!(),
      limits: shapes[shape]!,
      prefix: `blk${Object.keys(shapes).indexOf(shape)}`,
    })
    await limiter.check('sub:eve', { cost: 3 })
    await limiter.block('sub:eve', BLOCK_MS)
    const before = limiter.now()
    const r = await limiter.check('sub:eve')
    expect(r).toMatchObject({ allowed: false, blocked: true, remaining: 0 })
    expect(r.resetAt).toBeGreaterThanOrEqual(before + BLOCK_MS - 1_000)
    for (const l of r.limits) {
      expect(l.remaining).toBe(0)
      expect(l.resetAt).toBeGreaterThanOrEqual(before + BLOCK_MS - 1_000)
    }
    // Concurrent checks (batched into one script call on Redis) answer alike.
    const many = await Promise.all(Array.from({ length: 20 }, () => limiter.check('sub:eve')))
    for (const m of many) expect([m.blocked, m.remaining]).toEqual([true, 0])

    const mw = rateLimit({ limiter, headers: 'both' })
    const ctx = new TestContext()
    ctx.state.subject = 'eve'
    await ctx.run(mw)
    const h = ctx.written!.headers
    expect(ctx.written!.status).toBe(429)
    expect(Number(h['retry-after'])).toBeGreaterThanOrEqual(BLOCK_MS / 1000 - 1)
    expect(h['x-ratelimit-remaining']).toBe('0')
    for (const part of h.ratelimit!.split(', ')) {
      const [, r, t] = /;r=(\d+);t=(\d+)$/.exec(part)!
      expect(Number(r)).toBe(0)
      expect(Number(t)).toBeGreaterThanOrEqual(BLOCK_MS / 1000 - 1)
    }
    const reset = Number(h['x-ratelimit-reset']) * 1000
    expect(reset).toBeGreaterThanOrEqual(Date.now() + BLOCK_MS - 2_000)
  })
})
