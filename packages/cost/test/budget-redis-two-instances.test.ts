/**
 * `createBudget` on a real redis-server (the public API end to end, not the raw Lua scripts).
 * Guaranteed: two budget instances on two connections racing one subject never hold past the
 * limit, and spend exceeds it only by the overspend of calls already admitted (settles above their
 * hold); a hold reserved before midnight and settled after it charges the new day and frees the
 * hold; a settle after the hold lapsed still charges, exactly once (its restored duplicate charges
 * nothing).
 */
import { redisStore } from '@aikit/core/redis'
import { BudgetExceededError, createBudget } from '@aikit/cost'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)
const stores: ReturnType<typeof redisStore>[] = []

beforeAll(async () => {
  server = await startRedis()
  for (let i = 0; i < 2; i++) {
    const c = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(c)
    stores.push(redisStore(c, { prefix: `h${runId}`, commandTimeoutMs: 5_000 }))
  }
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

describe('createBudget on redis', () => {
  it('two instances racing one subject never hold or spend past the limit', async () => {
    const limits = [{ period: 'day' as const, micros: 10_000 }]
    const a = createBudget({ store: stores[0]!, limits })
    const b = createBudget({ store: stores[1]!, limits })
    let ok = 0
    const one = async (budget: typeof a, i: number) => {
      try {
        const r = await budget.reserve('race', { estimateMicros: 300 })
        ok++
        // Some calls cost more than held: the overspend is recorded, and later reserves see it.
        await r.settle(i % 7 === 0 ? 450 : 200)
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error
      }
    }
    await Promise.all(Array.from({ length: 120 }, (_, i) => one(i % 2 ? a : b, i)))
    const s = await a.status('race')
    expect(s.tightest!.heldMicros).toBe(0)
    // Every admitted call fit when reserved: spend can exceed the limit only by the overspend of
    // calls already admitted (at most 150 each over their 300 hold).
    expect(s.tightest!.spentMicros).toBeLessThanOrEqual(10_000 + 150 * ok)
    expect(ok).toBeGreaterThan(0)
    await expect(a.reserve('race', { estimateMicros: 10_001 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
  })

  it('a hold reserved before midnight and settled after it charges the new day and frees the hold', async () => {
    const clock = { t: Date.UTC(2026, 10, 27, 23, 59, 59, 500) }
    const budget = createBudget({
      store: stores[0]!,
      limits: [{ period: 'day', micros: 1_000 }],
      now: () => clock.t,
    })
    const r = await budget.reserve('midnight', { estimateMicros: 800 })
    expect((await budget.status('midnight')).tightest!.heldMicros).toBe(800)
    clock.t = Date.UTC(2026, 10, 28, 0, 0, 0, 500)
    const s = await r.settle(900)
    expect(s.held).toBe(true)
    expect(s.status.tightest!.heldMicros).toBe(0)
    expect((await budget.spend('midnight', { at: Date.UTC(2026, 10, 28, 12) })).totalMicros).toBe(
      900
    )
    expect((await budget.spend('midnight', { at: Date.UTC(2026, 10, 27, 12) })).totalMicros).toBe(0)
  })

  it('a settle after the hold lapsed still charges, once', async () => {
    const budget = createBudget({ store: stores[1]!, limits: [{ period: 'day', micros: 1_000 }] })
    const r = await budget.reserve('lapse', { estimateMicros: 100, ttl: 50 })
    // Well past the ttl: the hold's expiry is stamped on this instance's estimate of Redis's clock
    // (off by up to half a measurement's round trip, more on a loaded runner).
    await new Promise((resolve) => setTimeout(resolve, 300))
    const s = await r.settle(70)
    expect(s).toMatchObject({ held: false, duplicate: false, chargedMicros: 70 })
    const again = await budget.restore(r.toJSON()).settle(70)
    expect(again).toMatchObject({ duplicate: true, chargedMicros: 0 })
    expect((await budget.status('lapse')).tightest).toMatchObject({
      spentMicros: 70,
      heldMicros: 0,
    })
  })
})
