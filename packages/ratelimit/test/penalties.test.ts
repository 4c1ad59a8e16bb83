/**
 * Penalties (forced charges), blocks and resets, on memoryStore with an injected clock and on a real
 * redis-server (blocks use the store's clock, so every instance sees the same block).
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

function setup() {
  const clock = { t: 5_000_000 }
  const limiter = createRateLimiter({
    store: memoryStore({ now: () => clock.t }),
    limits: [{ limit: 10, window: 1000 }],
  })
  return { clock, limiter }
}

describe('penalize', () => {
  it('charges without checking; debt is capped at one extra window', async () => {
    const { clock, limiter } = setup()
    await limiter.penalize('u', 4)
    expect((await limiter.check('u', { cost: 0 })).remaining).toBe(6)
    await limiter.penalize('u', 1_000_000)
    const denied = await limiter.check('u')
    expect(denied.allowed).toBe(false)
    // at most 20 units held (10 of them debt) at 10 per second: one unit fits again after 1.1 s,
    // not after 100,000 s
    expect(denied.retryAfterMs).toBe(1100)
    clock.t += 1099
    expect((await limiter.check('u')).allowed).toBe(false)
    clock.t += 1
    expect((await limiter.check('u')).allowed).toBe(true)
  })

  it('validates its input', async () => {
    const { limiter } = setup()
    await expect(limiter.penalize('u', 0)).rejects.toMatchObject({ field: 'units' })
    await expect(limiter.penalize('', 1)).rejects.toMatchObject({ field: 'key' })
  })
})

describe('block, unblock, reset', () => {
  it('a blocked key is denied with the time left, then allowed again', async () => {
    const { clock, limiter } = setup()
    await limiter.block('u', 60_000)
    const r = await limiter.check('u')
    // Nothing usable until the block ends: none left, and no reset before it.
    expect(r).toMatchObject({ allowed: false, blocked: true, retryAfterMs: 60_000, remaining: 0 })
    expect(r.resetAt).toBe(clock.t + 60_000)
    expect((await limiter.check('other')).allowed).toBe(true)
    clock.t += 59_999
    expect((await limiter.check('u')).retryAfterMs).toBe(1)
    clock.t += 1
    expect(await limiter.check('u')).toMatchObject({ allowed: true, remaining: 9 })
    expect((await limiter.check('u')).blocked).toBeUndefined()
  })

  it('a shorter block does not shorten a longer one; unblock lifts it', async () => {
    const { limiter } = setup()
    await limiter.block('u', 60_000)
    await limiter.block('u', 1_000)
    expect((await limiter.check('u')).retryAfterMs).toBe(60_000)
    await limiter.unblock('u')
    expect((await limiter.check('u')).allowed).toBe(true)
  })

  it('reset forgets consumed units and blocks', async () => {
    const { limiter } = setup()
    await limiter.check('u', { cost: 10 })
    await limiter.block('u', 5_000)
    await limiter.reset('u')
    expect(await limiter.check('u', { cost: 0 })).toMatchObject({ allowed: true, remaining: 10 })
  })

  it('block validates ms', async () => {
    const { limiter } = setup()
    await expect(limiter.block('u', 0)).rejects.toMatchObject({ field: 'ms' })
    await expect(limiter.block('u', 1.5)).rejects.toMatchObject({ field: 'ms' })
  })
})

describe('on a real redis-server', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('a block set by one instance denies on another; penalties are shared', async () => {
    const clientA = server.client({ maxRetriesPerRequest: 1 })
    const clientB = server.client({ maxRetriesPerRequest: 1 })
    await Promise.all([whenReady(clientA), whenReady(clientB)])
    const make = (client: typeof clientA, blockCache?: false) =>
      createRateLimiter({
        store: redisStore(client, { commandTimeoutMs: 2_000 }),
        limits: [{ limit: 10, window: '1h' }],
        ...(blockCache === undefined ? {} : { blockCache }),
      })
    const a = make(clientA)
    // Without the denial cache: b reads the store on every check (how long a cached denial
    // outlives an unblock elsewhere, `blockCache.maxAgeMs`, is tested in block-cache.test.ts).
    const b = make(clientB, false)
    await a.block('mallory', 30_000)
    const denied = await b.check('mallory')
    expect(denied).toMatchObject({ allowed: false, blocked: true })
    expect(denied.retryAfterMs).toBeGreaterThan(29_000)
    expect(denied.retryAfterMs).toBeLessThanOrEqual(30_000)
    await a.unblock('mallory')
    expect((await b.check('mallory')).allowed).toBe(true)

    await a.penalize('eve', 7)
    expect((await b.check('eve', { cost: 0 })).remaining).toBe(3)
    clientA.disconnect()
    clientB.disconnect()
  })
})
