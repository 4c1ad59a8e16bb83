/**
 * `retainPeriods` keeps whole finished calendar periods readable by `spend()`: a period's ledger
 * lives to the end of the `retainPeriods`-th period after its own, each of its own length (28 to
 * 31-day months, 23 / 25-hour DST days), not its own length multiplied.
 */
import { memoryStore } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** A budget on a memory store sharing one settable clock, with 7 µ$ settled at `start`. */
async function spentAt(
  start: number,
  options: { period: 'day' | 'month'; retainPeriods?: number; timeZone?: string }
) {
  const t = { now: start }
  const budget = createBudget({
    store: memoryStore({ now: () => t.now }),
    limits: [{ period: options.period, micros: 1_000_000 }],
    now: () => t.now,
    ...(options.retainPeriods === undefined ? {} : { retainPeriods: options.retainPeriods }),
    ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
  })
  await (await budget.reserve('u', { estimateMicros: 7 })).settle(7)
  const read = async (now: number) => {
    t.now = now
    return (await budget.spend('u', { period: options.period, at: start })).totalMicros
  }
  return read
}

describe('retainPeriods keeps whole finished periods readable', () => {
  it('retainPeriods 1: February stays readable to the end of March (31 days), then expires', async () => {
    const read = await spentAt(Date.UTC(2026, 1, 10, 12), { period: 'month', retainPeriods: 1 })
    expect(await read(Date.UTC(2026, 2, 30, 12))).toBe(7)
    expect(await read(Date.UTC(2026, 2, 31, 23, 59))).toBe(7)
    expect(await read(Date.UTC(2026, 3, 1, 0, 1))).toBe(0)
  })

  it('retainPeriods 2 (default): February stays readable to the end of April', async () => {
    const read = await spentAt(Date.UTC(2026, 1, 10, 12), { period: 'month' })
    expect(await read(Date.UTC(2026, 3, 28, 12))).toBe(7)
    expect(await read(Date.UTC(2026, 4, 1, 0, 1))).toBe(0)
  })

  it('retainPeriods 1, Europe/Paris: the 23-hour DST day stays readable through the next day', async () => {
    // 29 March 2026 in Paris is 23 hours long (clocks jump 02:00 → 03:00).
    const read = await spentAt(Date.UTC(2026, 2, 29, 10), {
      period: 'day',
      timeZone: 'Europe/Paris',
      retainPeriods: 1,
    })
    // 30 March 23:30 Paris (21:30 UTC): still 30 March, the day after is not finished yet.
    expect(await read(Date.UTC(2026, 2, 30, 21, 30))).toBe(7)
    // 31 March 00:30 Paris: the day after has finished.
    expect(await read(Date.UTC(2026, 2, 30, 22, 30))).toBe(0)
  })

  it('retainPeriods 0: the period is forgotten once it ends', async () => {
    const read = await spentAt(Date.UTC(2026, 1, 10, 12), { period: 'day', retainPeriods: 0 })
    expect(await read(Date.UTC(2026, 1, 10, 23, 59))).toBe(7)
    expect(await read(Date.UTC(2026, 1, 11, 0, 1))).toBe(0)
  })
})
