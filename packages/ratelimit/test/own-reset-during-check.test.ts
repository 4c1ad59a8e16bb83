/**
 * The blocked-key cache against this instance's own reset, unblock and refund: a check sent to
 * Redis before one of them may come back denied after it; that stale denial must not be cached
 * (the README: a reset, unblock or release "on this instance clears its own cache entry at once").
 */
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

async function limiterWith(limit: number) {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  return createRateLimiter({
    store: redisStore(client, { commandTimeoutMs: 2_000 }),
    limits: [{ limit, window: '1m' }],
    blockCache: { maxAgeMs: 60_000 },
    prefix: `own${limit}`,
  })
}

describe('a check in flight during this instance’s own clear', () => {
  it('reset: the next check reaches the store and is allowed', async () => {
    const limiter = await limiterWith(2)
    await limiter.check('k', { cost: 2 })
    const inflight = limiter.check('k')
    await limiter.reset('k')
    expect((await inflight).allowed).toBe(false)
    const after = await limiter.check('k')
    expect(after.cached).toBeUndefined()
    expect(after.allowed).toBe(true)
  })

  it('unblock: the next check is not answered blocked from the cache', async () => {
    const limiter = await limiterWith(5)
    await limiter.block('m', 3_600_000)
    const inflight = limiter.check('m')
    await limiter.unblock('m')
    expect((await inflight).blocked).toBe(true)
    const after = await limiter.check('m')
    expect(after.cached).toBeUndefined()
    expect(after.allowed).toBe(true)
  })

  it('a reservation released while a check is in flight: the next check sees the refund', async () => {
    const limiter = await limiterWith(3)
    const held = await limiter.reserve('r', 3)
    expect(held.allowed).toBe(true)
    const inflight = limiter.check('r')
    await held.release()
    expect((await inflight).allowed).toBe(false)
    const after = await limiter.check('r')
    expect(after.cached).toBeUndefined()
    expect(after.allowed).toBe(true)
  })

  it('a denial of a check started after the clear is still cached', async () => {
    const limiter = await limiterWith(1)
    await limiter.check('d')
    await limiter.reset('d')
    await limiter.check('d', { cost: 1 })
    expect((await limiter.check('d')).cached).toBeUndefined()
    expect((await limiter.check('d')).cached).toBe(true)
  })
})
