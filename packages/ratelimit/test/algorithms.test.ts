/**
 * Exact timing semantics on memoryStore with an injected clock (the Lua twin is held to the same
 * results by the shared table and the race test). Includes the property every algorithm must meet:
 * a rejection's `retryAfterMs` is exact — 1 ms earlier the same cost is still rejected, at that time
 * it is allowed.
 */
import { memoryStore } from '@aikit/core'
import { createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

function setup(limits: LimitOptions[], start = 10_000) {
  const clock = { t: start }
  const limiter = createRateLimiter({ store: memoryStore({ now: () => clock.t }), limits })
  return { clock, limiter }
}

describe('exact timing per algorithm', () => {
  it('gcra: emission interval window/limit, burst limit', async () => {
    const { clock, limiter } = setup([{ limit: 5, window: 1000 }], 0)
    expect(await limiter.check('u', { cost: 5 })).toMatchObject({
      allowed: true,
      remaining: 0,
      resetAt: 1000,
    })
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 200 })
    clock.t = 199
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 1 })
    clock.t = 200
    expect(await limiter.check('u')).toMatchObject({ allowed: true, remaining: 0, resetAt: 1200 })
    clock.t = 1200
    expect(await limiter.check('u', { cost: 0 })).toMatchObject({ allowed: true, remaining: 5 })
  })

  it('gcra: fractional emission intervals stay exact (3 per 1000 ms)', async () => {
    const { clock, limiter } = setup([{ limit: 3, window: 1000 }], 0)
    expect((await limiter.check('u', { cost: 3 })).resetAt).toBe(1000)
    // one unit frees every 333.33 ms
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 334 })
    clock.t = 333
    expect((await limiter.check('u')).allowed).toBe(false)
    clock.t = 334
    expect((await limiter.check('u')).allowed).toBe(true)
    clock.t = 667
    expect((await limiter.check('u')).allowed).toBe(true)
    clock.t = 999
    expect((await limiter.check('u')).allowed).toBe(false)
    clock.t = 1000
    expect((await limiter.check('u')).allowed).toBe(true)
  })

  it('fixed-window: aligned windows', async () => {
    const { clock, limiter } = setup(
      [{ algorithm: 'fixed-window', limit: 5, window: 1000 }],
      10_500
    )
    expect(await limiter.check('u', { cost: 5 })).toMatchObject({
      allowed: true,
      remaining: 0,
      resetAt: 11_000,
    })
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 500 })
    clock.t = 10_999
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 1 })
    clock.t = 11_000
    expect(await limiter.check('u')).toMatchObject({ allowed: true, remaining: 4, resetAt: 12_000 })
  })

  it('sliding-window: previous window weighted by the part still covered', async () => {
    const { clock, limiter } = setup(
      [{ algorithm: 'sliding-window', limit: 10, window: 1000 }],
      10_100
    )
    expect(await limiter.check('u', { cost: 10 })).toMatchObject({ allowed: true, remaining: 0 })
    clock.t = 11_000 // prev 10 fully weighted
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 1 })
    clock.t = 11_001 // floor(10 × 999/1000) = 9
    expect(await limiter.check('u')).toMatchObject({ allowed: true, remaining: 0 })
    expect(await limiter.check('u')).toMatchObject({ allowed: false, retryAfterMs: 100 })
    clock.t = 11_100 // floor(10 × 900/1000) + 1 = 10
    expect((await limiter.check('u')).allowed).toBe(false)
    clock.t = 11_101 // floor(10 × 899/1000) + 1 = 9
    expect(await limiter.check('u')).toMatchObject({ allowed: true, remaining: 0 })
    clock.t = 12_500 // prev = 2, weighted floor(2 × 500/1000) = 1
    expect(await limiter.check('u', { cost: 0 })).toMatchObject({ remaining: 9 })
    clock.t = 13_000 // two windows later: empty
    expect(await limiter.check('u', { cost: 0 })).toMatchObject({ remaining: 10 })
  })

  it('token-bucket: refills limit per window up to capacity', async () => {
    const { clock, limiter } = setup([{ algorithm: 'token-bucket', limit: 10, window: 1000 }], 0)
    expect(await limiter.check('u', { cost: 10 })).toMatchObject({
      allowed: true,
      remaining: 0,
      resetAt: 1000,
    })
    expect(await limiter.check('u', { cost: 3 })).toMatchObject({
      allowed: false,
      retryAfterMs: 300,
    })
    clock.t = 299
    expect(await limiter.check('u', { cost: 3 })).toMatchObject({ allowed: false, retryAfterMs: 1 })
    clock.t = 300
    expect(await limiter.check('u', { cost: 3 })).toMatchObject({
      allowed: true,
      remaining: 0,
      resetAt: 1300,
    })
    clock.t = 50_000 // long idle: capped at capacity
    expect(await limiter.check('u', { cost: 0 })).toMatchObject({ remaining: 10 })
  })
})

/** A small seeded PRNG (mulberry32) so the property run is reproducible. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const propertyCases: { name: string; limits: LimitOptions[] }[] = [
  { name: 'gcra 7/1000', limits: [{ algorithm: 'gcra', limit: 7, window: 1000 }] },
  { name: 'fixed-window 7/1000', limits: [{ algorithm: 'fixed-window', limit: 7, window: 1000 }] },
  {
    name: 'sliding-window 7/1000',
    limits: [{ algorithm: 'sliding-window', limit: 7, window: 1000 }],
  },
  { name: 'token-bucket 7/1000', limits: [{ algorithm: 'token-bucket', limit: 7, window: 1000 }] },
  {
    name: 'all four',
    limits: [
      { algorithm: 'gcra', limit: 5, window: 700 },
      { algorithm: 'fixed-window', limit: 9, window: 1300 },
      { algorithm: 'sliding-window', limit: 7, window: 1000 },
      { algorithm: 'token-bucket', limit: 11, window: 2000 },
    ],
  },
]

describe('retryAfterMs is exact (seeded random sequences)', () => {
  for (const c of propertyCases) {
    it(c.name, async () => {
      const { clock, limiter } = setup(c.limits, 1_000_003)
      const random = rng(42)
      const maxCost = Math.min(...c.limits.map((l) => l.limit))
      let rejections = 0
      let allowedTotal = 0
      for (let i = 0; i < 400; i++) {
        clock.t += Math.floor(random() * 400)
        const cost = 1 + Math.floor(random() * maxCost)
        const first = await limiter.check('u', { cost })
        if (first.allowed) {
          allowedTotal++
          expect(first.retryAfterMs).toBe(0)
          continue
        }
        rejections++
        expect(first.retryAfterMs, `step ${i}`).toBeGreaterThan(0)
        const at = clock.t + first.retryAfterMs
        clock.t = at - 1
        const early = await limiter.check('u', { cost })
        expect(early.allowed, `step ${i}: 1 ms early`).toBe(false)
        expect(early.retryAfterMs, `step ${i}: 1 ms early`).toBe(1)
        clock.t = at
        expect((await limiter.check('u', { cost })).allowed, `step ${i}: on time`).toBe(true)
      }
      // the run exercised both outcomes
      expect(rejections).toBeGreaterThan(20)
      expect(allowedTotal).toBeGreaterThan(20)
    })
  }
})
