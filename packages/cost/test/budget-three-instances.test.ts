/**
 * Three `createBudget` instances, each on its own connection to one real redis-server, working on
 * the same subjects at once. Guaranteed:
 * - concurrent reservations from all three never hold past the tightest of several limits (day,
 *   month, rolling): exactly as many fit as the limit allows, and every limit holds the same;
 *   handles settled by another instance (`restore`) charge once, over-settles included;
 * - with per-subject limit functions and mixed estimates, what is held never exceeds the limit
 *   and every rejected reservation really did not fit;
 * - held and spent totals stay exact under reserve / settle / release / extend from different
 *   instances while some holds lapse: a lapsed hold is counted by no instance (status, spend,
 *   reserve), an extended one by all.
 * The calendar clock (`now`) is frozen at the file's start so that no test straddles a UTC
 * midnight or month end; holds use Redis's clock. Waits for a lapse are polls with a generous
 * deadline, and hold TTLs meant to stay live are minutes long (a busy runner may stall seconds).
 */
import { redisStore } from '@aikit/core/redis'
import {
  type Budget,
  BudgetExceededError,
  type BudgetLimitOptions,
  type BudgetLimitsFn,
  createBudget,
  type Reservation,
} from '@aikit/cost'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)
const stores: ReturnType<typeof redisStore>[] = []
const frozen = Date.now()

beforeAll(async () => {
  server = await startRedis()
  for (let i = 0; i < 3; i++) {
    const c = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(c)
    stores.push(redisStore(c, { prefix: `b${runId}`, commandTimeoutMs: 5_000 }))
  }
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** One budget object per connection, all with the same limits. */
const budgets = (limits: readonly BudgetLimitOptions[] | BudgetLimitsFn): Budget[] =>
  stores.map((store) => createBudget({ store, limits, now: () => frozen }))

/** The reservation, or `undefined` when the budget refused it. */
const tryReserve = async (
  b: Budget,
  subject: string,
  estimateMicros: number
): Promise<Reservation | undefined> => {
  try {
    return await b.reserve(subject, { estimateMicros })
  } catch (e) {
    if (e instanceof BudgetExceededError) return undefined
    throw e
  }
}

/** Polls `check` until it holds; fails after 10 s. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('three budget instances on one redis-server', () => {
  it('concurrent reservations fit exactly the tightest limit (day, month, rolling); restored settles charge once', async () => {
    const limits: BudgetLimitOptions[] = [
      { period: 'day', micros: 10_000 },
      { period: 'month', micros: 7_000 },
      { period: 'rolling', micros: 9_000, window: '1h' },
    ]
    const bs = budgets(limits)
    const round = () =>
      Promise.all(Array.from({ length: 60 }, (_, i) => tryReserve(bs[i % 3]!, 'multi', 100)))
    // 60 × 100 fit under the 7_000 month limit; of 60 more, exactly 10.
    const first = await round()
    expect(first.every(Boolean)).toBe(true)
    const second = await round()
    expect(second.filter(Boolean)).toHaveLength(10)
    for (const st of await Promise.all(bs.map((b) => b.status('multi')))) {
      for (const l of st.limits) expect(l.heldMicros).toBe(7_000)
    }
    // Each settled by another instance than the one that reserved it, half above the hold.
    const all = [...first, ...second].filter((r): r is Reservation => r !== undefined)
    const outcomes = await Promise.all(
      all.map((r, i) => bs[(i + 1) % 3]!.restore(r.toJSON()).settle(i % 2 ? 150 : 50))
    )
    expect(outcomes.every((o) => o.held && !o.duplicate)).toBe(true)
    // The original handles' releases come after the settles: duplicates, nothing freed.
    const released = await Promise.all(all.map((r) => r.release()))
    expect(released.every((d) => d === false)).toBe(true)
    for (const st of await Promise.all(bs.map((b) => b.status('multi')))) {
      for (const l of st.limits) {
        expect(l.heldMicros).toBe(0)
        expect(l.spentMicros).toBe(35 * 150 + 35 * 50)
      }
    }
  }, 30_000)

  it('limits from a function, mixed estimates: never held past the limit, no rejection that fit', async () => {
    const bs = budgets(async () => [{ period: 'day', micros: 1_000 }])
    // 7, 17, 27, … : 1_020 in all, so some must be refused.
    const ests = Array.from({ length: 60 }, (_, i) => (i % 3) * 10 + 7)
    const rs = await Promise.all(ests.map((e, i) => tryReserve(bs[i % 3]!, 'fn', e)))
    const held = rs.reduce((a, r) => a + (r ? r.amountMicros : 0), 0)
    expect(held).toBeLessThanOrEqual(1_000)
    for (const st of await Promise.all(bs.map((b) => b.status('fn')))) {
      expect(st.tightest!.heldMicros).toBe(held)
    }
    // Nothing was released, so what is held only grew: a refused estimate did not fit at the end
    // either.
    const refused = ests.filter((_, i) => !rs[i])
    expect(refused.length).toBeGreaterThan(0)
    expect(held + Math.min(...refused)).toBeGreaterThan(1_000)
  }, 30_000)

  it('held and spent stay exact under reserve / settle / release / extend / lapse from three instances', async () => {
    const limits: BudgetLimitOptions[] = [
      { period: 'day', micros: 1_000_000 },
      { period: 'rolling', micros: 1_000_000, window: '1h' },
    ]
    const bs = budgets(limits)
    // Every 4th hold is short and lapses during the test unless extended in time; the others
    // outlive any stall of a busy runner.
    const SHORT = 200
    const LONG = 600_000
    const rs = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        bs[i % 3]!.reserve('mixed', {
          estimateMicros: 10 + (i % 7),
          ttl: i % 4 === 0 ? SHORT : LONG,
        })
      )
    )
    let live = 0
    let settles = 0
    await Promise.all(
      rs.map(async (r, i) => {
        const other = bs[(i + 1) % 3]!.restore(r.toJSON())
        switch (i % 5) {
          case 0:
            settles++
            await other.settle(3)
            break
          case 1:
            await other.release()
            break
          case 2:
            // A short hold may have lapsed before the extend: then it is not revived.
            if (await other.extend(LONG)) live += r.amountMicros
            break
          default:
            if (i % 4 !== 0) live += r.amountMicros
        }
      })
    )
    // The short holds lapse on Redis's clock; no instance counts them from then on.
    await until('the short holds to lapse', async () =>
      (await bs[1]!.status('mixed')).limits.every((l) => l.heldMicros === live)
    )
    for (const st of await Promise.all(bs.map((b) => b.status('mixed')))) {
      for (const l of st.limits) {
        expect(l.heldMicros).toBe(live)
        expect(l.spentMicros).toBe(3 * settles)
      }
    }
    expect((await bs[2]!.spend('mixed')).heldMicros).toBe(live)
    // A reservation of exactly what is left fits; one micro-dollar more does not.
    const rest = await bs[2]!.reserve('mixed', { estimateMicros: 1_000_000 - live - 3 * settles })
    await expect(bs[0]!.reserve('mixed', { estimateMicros: 1 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    expect(await bs[1]!.restore(rest.toJSON()).release()).toBe(true)
  }, 30_000)
})
