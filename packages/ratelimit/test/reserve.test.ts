/**
 * reserve → settle / release for token-weighted limits, on every algorithm, with exact counts on
 * memoryStore (injected clock), and the same flow on a real redis-server.
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type Algorithm, createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ALGORITHMS: Algorithm[] = ['gcra', 'fixed-window', 'sliding-window', 'token-bucket']

function setup(limits: LimitOptions[], start = 1_000_000) {
  const clock = { t: start }
  const limiter = createRateLimiter({ store: memoryStore({ now: () => clock.t }), limits })
  return { clock, limiter }
}

const remaining = async (limiter: ReturnType<typeof setup>['limiter']) =>
  (await limiter.check('u', { cost: 0 })).remaining

describe.each(ALGORITHMS)('%s: reserve, settle, release', (algorithm) => {
  const limits = [{ algorithm, limit: 1000, window: '1h' as const }]

  it('settle below the estimate refunds the difference', async () => {
    const { limiter } = setup(limits)
    const r = await limiter.reserve('u', 600)
    expect(r).toMatchObject({ allowed: true, units: 600 })
    expect(await remaining(limiter)).toBe(400)
    await r.settle(250)
    expect(await remaining(limiter)).toBe(750)
  })

  it('settle above the estimate charges the excess, even past the limit', async () => {
    const { limiter } = setup(limits)
    const r = await limiter.reserve('u', 600)
    await r.settle(1300)
    expect(await remaining(limiter)).toBe(0)
    // 300 units of debt: even a cost of 1 waits
    expect((await limiter.check('u')).allowed).toBe(false)
  })

  it('release gives everything back; later settles and releases do nothing', async () => {
    const { limiter } = setup(limits)
    const r = await limiter.reserve('u', 900)
    expect(await remaining(limiter)).toBe(100)
    await r.release()
    expect(await remaining(limiter)).toBe(1000)
    await r.settle(900)
    await r.release()
    expect(await remaining(limiter)).toBe(1000)
  })

  it('a denied reservation takes nothing and its settle/release do nothing', async () => {
    const { limiter } = setup(limits)
    await limiter.check('u', { cost: 800 })
    const r = await limiter.reserve('u', 300)
    expect(r.allowed).toBe(false)
    expect(r.result.retryAfterMs).toBeGreaterThan(0)
    await r.settle(300)
    await r.release()
    expect(await remaining(limiter)).toBe(200)
  })
})

describe('refunds go to the window the units were taken from', () => {
  it('fixed-window: a refund after the window ended changes nothing', async () => {
    const { clock, limiter } = setup([{ algorithm: 'fixed-window', limit: 10, window: 1000 }])
    const r = await limiter.reserve('u', 8)
    clock.t += 1000
    await limiter.check('u', { cost: 5 })
    await r.release()
    expect(await remaining(limiter)).toBe(5)
  })

  it('sliding-window: a refund in the next window lowers the previous-window count', async () => {
    const { clock, limiter } = setup([{ algorithm: 'sliding-window', limit: 10, window: 1000 }])
    const r = await limiter.reserve('u', 8)
    clock.t += 1000 // previous window = 8, fully weighted at the boundary
    expect(await remaining(limiter)).toBe(2)
    await r.settle(2)
    expect(await remaining(limiter)).toBe(8)
  })
})

describe.each(ALGORITHMS)(
  '%s: a late release or low settle does not hand out capacity twice',
  (algorithm) => {
    const limits = [{ algorithm, limit: 10, window: 1000 }]

    it('a release after the units drained gives nothing back: at most `limit` units at one instant', async () => {
      const { clock, limiter } = setup(limits)
      // An LLM call reserves the whole budget and runs for two windows, then fails.
      const r = await limiter.reserve('u', 10)
      expect(r.allowed).toBe(true)
      clock.t += 2000
      // Meanwhile (after the units drained) another request takes the whole budget.
      expect((await limiter.check('u', { cost: 10 })).allowed).toBe(true)
      // The first call's failure releases its (long drained) reservation...
      await r.release()
      // ...which must not hand the same instant another full budget: 20 units in 0 ms for 10/s.
      expect((await limiter.check('u', { cost: 10 })).allowed).toBe(false)
      expect(await remaining(limiter)).toBe(0)
    })

    it('a low settle after the units drained gives nothing back either', async () => {
      const { clock, limiter } = setup(limits)
      const r = await limiter.reserve('u', 10)
      clock.t += 2000
      await limiter.check('u', { cost: 10 })
      await r.settle(2)
      expect(await remaining(limiter)).toBe(0)
      expect((await limiter.check('u')).allowed).toBe(false)
    })
  }
)

describe.each(['gcra', 'token-bucket'] as const)(
  '%s: a refund gives back what is still held',
  (algorithm) => {
    const limits = [{ algorithm, limit: 10, window: 1000 }]

    it('half drained: half the units come back, as if they had never been taken', async () => {
      const { clock, limiter } = setup(limits)
      const r = await limiter.reserve('u', 10)
      clock.t += 500 // 5 units drained / refilled
      expect((await limiter.check('u', { cost: 5 })).allowed).toBe(true)
      await r.release()
      // Without the reservation: 10 available at t+500, 5 taken → 5 left. Not 10.
      expect(await remaining(limiter)).toBe(5)
      expect((await limiter.check('u', { cost: 6 })).allowed).toBe(false)
      expect((await limiter.check('u', { cost: 5 })).allowed).toBe(true)
    })

    it('a low settle refunds at most the outstanding part', async () => {
      const { clock, limiter } = setup(limits)
      const r = await limiter.reserve('u', 10)
      clock.t += 700 // 7 of the 10 units drained / refilled; 3 still held
      await limiter.check('u', { cost: 7 })
      await r.settle(5) // would refund 5, only 3 are still held
      expect(await remaining(limiter)).toBe(3)
    })

    it('a reservation behind earlier use still holds its units until they would have come back', async () => {
      const { clock, limiter } = setup(limits)
      await limiter.check('u', { cost: 4 })
      const r = await limiter.reserve('u', 6) // full: the 6 come back after the first 4, by t+1000
      clock.t += 600 // 6 units back: the first 4, then 2 of the reservation's 6
      expect((await limiter.check('u', { cost: 6 })).allowed).toBe(true)
      await r.release()
      // Without the reservation: 4 taken at t, all back by t+400, 6 taken at t+600 → 4 left.
      expect(await remaining(limiter)).toBe(4)
    })

    it('an immediate release gives everything back', async () => {
      const { limiter } = setup(limits)
      await limiter.check('u', { cost: 3 })
      const r = await limiter.reserve('u', 7)
      await r.release()
      expect(await remaining(limiter)).toBe(7)
    })
  }
)

describe('an in-process store that fails (the synchronous reserve path)', () => {
  const limits = [{ limit: 1000, window: '1h' as const }]

  it('a reserve on a closed memory store follows onStoreError (memory: a degraded grant)', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits })
    await store.close()
    const r = await limiter.reserve('u', 600)
    expect(r).toMatchObject({ allowed: true, units: 600 })
    expect(r.result).toMatchObject({ degraded: true, reason: 'store-error', remaining: 400 })
    expect(limiter.stats().degraded).toBe(1)
    // Served by the fallback store: the refund goes there (the check sees it).
    await r.settle(100)
    expect((await limiter.check('u', { cost: 0 })).remaining).toBe(900)
  })

  it("a reserve on a closed memory store with onStoreError 'closed' rejects", async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits, onStoreError: 'closed' })
    await store.close()
    await expect(limiter.reserve('u', 10)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })

  it('a settle after the store closed resolves and counts an adjust failure', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits })
    const r = await limiter.reserve('u', 600)
    await store.close()
    await expect(r.settle(100)).resolves.toBeUndefined()
    expect(limiter.stats().adjustFailures).toBe(1)
    // Only once: a later release does nothing.
    await r.release()
    expect(limiter.stats().adjustFailures).toBe(1)
  })

  it('a key blocked on the store is denied by reserve, and nothing is taken', async () => {
    const { limiter } = setup(limits)
    await limiter.block('u', 60_000)
    const r = await limiter.reserve('u', 10)
    expect(r.allowed).toBe(false)
    expect(r.result).toMatchObject({ blocked: true })
    await limiter.unblock('u')
    expect(await remaining(limiter)).toBe(1000)
  })
})

describe('input validation', () => {
  it('names the bad field', async () => {
    const { limiter } = setup([{ limit: 10, window: '1m' }])
    await expect(limiter.reserve('u', -1)).rejects.toMatchObject({ field: 'units' })
    await expect(limiter.reserve('u', 1.5)).rejects.toMatchObject({ field: 'units' })
    await expect(limiter.reserve('', 1)).rejects.toMatchObject({ field: 'key' })
    const r = await limiter.reserve('u', 5)
    await expect(r.settle(-3)).rejects.toMatchObject({ field: 'actual' })
    await expect(r.settle(Number.NaN)).rejects.toMatchObject({ field: 'actual' })
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

  it('reserve, settle and release with a two-limit limiter, all-or-nothing', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const limiter = createRateLimiter({
      store: redisStore(client, { commandTimeoutMs: 2_000 }),
      limits: [
        // GCRA refills continuously: a day-long window keeps it still for the test's duration
        { limit: 1000, window: '1d' },
        { algorithm: 'sliding-window', limit: 5000, window: '1d' },
      ],
    })
    const a = await limiter.reserve('tenant', 700)
    const b = await limiter.reserve('tenant', 400) // only 300 left: denied, takes nothing
    expect([a.allowed, b.allowed]).toEqual([true, false])
    await a.settle(100)
    const left = await limiter.check('tenant', { cost: 0 })
    expect(left.limits.map((l) => l.remaining)).toEqual([900, 4900])
    const c = await limiter.reserve('tenant', 900)
    expect(c.allowed).toBe(true)
    await c.release()
    expect((await limiter.check('tenant', { cost: 0 })).limits.map((l) => l.remaining)).toEqual([
      900, 4900,
    ])
    client.disconnect()
  })
})
