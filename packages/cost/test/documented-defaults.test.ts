/**
 * The defaults README.md states (the `createBudget`, `budgetHeaders` and `createPriceTable` option
 * tables and the prose of "Prices"), observed through the public API with the option left out:
 * `reservationTtl` and `tombstoneTtl` 10 minutes, `retainPeriods` 2, `timeZone` UTC, `prefix`
 * `'budget'`, `reject` true for a hard budget and false for a soft one, and the rates an entry
 * without cache rates is billed at. A user tunes production from these numbers.
 */
import { memoryStore, type Store } from '@aikit/core'
import { budgetHeaders, createBudget, createPriceTable, type ModelPrice } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

function clock(start: number) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const MINUTE = 60_000
const DAY = 86_400_000

describe('createBudget defaults', () => {
  it("holds a reservation for 10 minutes on the store's clock (reservationTtl '10m')", async () => {
    const t = clock(1_000_000)
    const budget = createBudget({
      store: memoryStore({ now: t.now }),
      limits: [{ period: 'rolling', window: '1h', micros: 100 }],
    })
    const r = await budget.reserve('u', { estimateMicros: 100 })
    expect(r.expiresAt).toBe(1_000_000 + 10 * MINUTE)
    t.advance(10 * MINUTE - 1)
    expect((await budget.status('u')).tightest?.heldMicros).toBe(100)
    t.advance(1)
    expect((await budget.status('u')).tightest?.heldMicros).toBe(0)
  })

  it("remembers a settle for 10 minutes past the hold's expiry (tombstoneTtl '10m')", async () => {
    const t = clock(1_000_000)
    const store = memoryStore({ now: t.now })
    const limits = [{ period: 'rolling' as const, window: '7d' as const, micros: 1000 }]
    const budget = createBudget({ store, limits })
    const r = await budget.reserve('u', { estimateMicros: 10 })
    expect((await r.settle(10)).duplicate).toBe(false)
    // Another holder of the same handle (another process): a duplicate until the tombstone goes.
    t.advance(10 * MINUTE + 10 * MINUTE - 1)
    expect(await createBudget({ store, limits }).restore(r.toJSON()).settle(10)).toMatchObject({
      duplicate: true,
      chargedMicros: 0,
    })
    t.advance(1)
    expect(await createBudget({ store, limits }).restore(r.toJSON()).settle(10)).toMatchObject({
      duplicate: false,
      chargedMicros: 10,
    })
  })

  it('keeps 2 finished calendar periods readable by spend() (retainPeriods 2)', async () => {
    const start = Date.UTC(2026, 10, 20, 12)
    const t = clock(start)
    const budget = createBudget({
      store: memoryStore({ now: t.now }),
      limits: [{ period: 'day', micros: 1000 }],
      now: t.now,
    })
    await (await budget.reserve('u', { estimateMicros: 7 })).settle(7)
    // The ledger lives to its day's end plus two days.
    t.advance(2 * DAY + 11 * 3_600_000)
    expect((await budget.spend('u', { at: start })).totalMicros).toBe(7)
    t.advance(2 * 3_600_000)
    expect((await budget.spend('u', { at: start })).totalMicros).toBe(0)
  })

  it("counts calendar days in UTC (timeZone 'UTC')", async () => {
    const t = clock(Date.UTC(2026, 10, 20, 23, 59, 59, 999))
    const budget = createBudget({ limits: [{ period: 'day', micros: 1000 }], now: t.now })
    const status = await budget.status('u')
    expect(status.tightest?.resetAt).toBe(Date.UTC(2026, 10, 21))
    expect((await budget.spend('u')).periodId).toBe('d2026-11-20')
  })

  it("names its keys with the 'budget' prefix", async () => {
    const inner = memoryStore()
    const keys: string[] = []
    const store: Store = Object.assign(Object.create(inner) as Store, {
      run: ((op, k, input) => {
        keys.push(...k)
        return inner.run(op, k, input)
      }) as Store['run'],
    })
    const budget = createBudget({ store, limits: [{ period: 'day', micros: 1000 }] })
    await budget.reserve('u', { estimateMicros: 1 })
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) expect(key.startsWith(`${inner.key('u', 'budget')}:`)).toBe(true)
  })
})

describe('budgetHeaders defaults', () => {
  const run = async (mode: 'hard' | 'soft'): Promise<number | undefined> => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 10 }], mode })
    await (await budget.reserve('u', { estimateMicros: 10 })).settle(10)
    let status: number | undefined
    const ctx = {
      state: { subject: 'u' },
      setHeader: () => {},
      respond: (s: number) => {
        status = s
      },
    }
    await budgetHeaders({ budget })(ctx as never, async () => {})
    return status
  }

  it('answers 402 when nothing is left for a hard budget (reject: true)', async () => {
    expect(await run('hard')).toBe(402)
  })

  it('passes a soft budget through (reject: false)', async () => {
    expect(await run('soft')).toBeUndefined()
  })
})

describe('price entry defaults', () => {
  const entry: ModelPrice = {
    provider: 'test',
    input: 3,
    output: 15,
    asOf: '2026-01-01',
    source: 'test',
  }
  const million = 1_000_000

  it('bills a missing cache rate at `input` (never free)', () => {
    const table = createPriceTable({ prices: { m: entry } })
    expect(table.priceOf('m', { inputTokens: 0, outputTokens: 0, cacheReadTokens: million })).toBe(
      3_000_000
    )
    expect(
      table.priceOf('m', { inputTokens: 0, outputTokens: 0, cacheWrite5mTokens: million })
    ).toBe(3_000_000)
    expect(
      table.priceOf('m', { inputTokens: 0, outputTokens: 0, cacheWrite1hTokens: million })
    ).toBe(3_000_000)
  })

  it('bills a missing cacheWrite1h at the entry’s cacheWrite5m', () => {
    const table = createPriceTable({ prices: { m: { ...entry, cacheWrite5m: 3.75 } } })
    expect(
      table.priceOf('m', { inputTokens: 0, outputTokens: 0, cacheWrite1hTokens: million })
    ).toBe(3_750_000)
  })

  it('bills web searches at $10 per 1,000 when the entry sets none', () => {
    const table = createPriceTable({ prices: { m: entry } })
    expect(table.priceOf('m', { inputTokens: 0, outputTokens: 0, webSearchRequests: 1000 })).toBe(
      10_000_000
    )
  })
})
