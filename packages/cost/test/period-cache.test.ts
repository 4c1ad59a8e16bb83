/**
 * The cached period window (`periodAt`): equal to the uncached `calendarPeriod` (Intl) at every
 * instant, including UTC's arithmetic fast path, month ends, leap days and DST changes; a budget
 * with an injected clock moves to the next period exactly at the boundary and back when the clock
 * goes back, and two budgets in different zones sharing the cache never see each other's window.
 */
import { memoryStore } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'
import { calendarPeriod, periodAt } from '../src/period.js'

const HOUR = 3_600_000

/** Instants around every boundary of interest: month ends, a leap day, DST changes, year end. */
function instants(): number[] {
  const out: number[] = []
  const anchors = [
    Date.UTC(2026, 0, 1),
    Date.UTC(2026, 1, 28),
    Date.UTC(2028, 1, 29),
    Date.UTC(2026, 2, 8, 7),
    Date.UTC(2026, 2, 29, 1),
    Date.UTC(2026, 9, 25, 1),
    Date.UTC(2026, 10, 1, 6),
    Date.UTC(2026, 11, 31, 23),
  ]
  for (const a of anchors) {
    for (let d = -26 * HOUR; d <= 26 * HOUR; d += HOUR) out.push(a + d, a + d - 1, a + d + 1)
  }
  // A random walk over a few years, forward and back, as an injected clock may move.
  let t = Date.UTC(2025, 0, 1)
  let seed = 7
  for (let i = 0; i < 800; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    t += (seed % (40 * 24 * HOUR)) - 15 * 24 * HOUR
    out.push(t)
  }
  return out
}

describe('periodAt', () => {
  it.each([
    'UTC',
    'Etc/UTC',
    'Europe/Paris',
    'America/New_York',
    'Asia/Kolkata',
    'Pacific/Chatham',
  ])('gives the same window as calendarPeriod at every instant (%s)', (zone) => {
    for (const kind of ['day', 'month'] as const) {
      for (const ms of instants()) {
        expect(periodAt(kind, ms, zone)).toEqual(calendarPeriod(kind, ms, zone))
      }
    }
  })

  it('reuses one window object until the clock leaves it, then moves to the next one', () => {
    const start = Date.UTC(2026, 10, 25, 23) // Paris midnight (UTC+1)
    const a = periodAt('day', start, 'Europe/Paris')
    expect(periodAt('day', start + 12 * HOUR, 'Europe/Paris')).toBe(a)
    expect(periodAt('day', a.end - 1, 'Europe/Paris')).toBe(a)
    const b = periodAt('day', a.end, 'Europe/Paris')
    expect(b).toMatchObject({ id: 'd2026-11-27', start: a.end })
    expect(periodAt('day', a.end - 1, 'Europe/Paris')).toEqual(a) // back in time: recomputed
  })
})

describe('budget periods with an injected clock crossing a boundary', () => {
  it('resets exactly at local midnight and keeps zones apart', async () => {
    let t = Date.UTC(2026, 2, 28, 22, 59, 59, 999) // 23:59:59.999 in Paris, the eve of DST
    const now = () => t
    const paris = createBudget({
      store: memoryStore({ now }),
      limits: [{ period: 'day', micros: 100 }],
      timeZone: 'Europe/Paris',
      now,
    })
    const utc = createBudget({
      store: memoryStore({ now }),
      limits: [{ period: 'day', micros: 100 }],
      now,
    })
    await (await paris.reserve('u', { estimateMicros: 40 })).settle(40)
    await (await utc.reserve('u', { estimateMicros: 10 })).settle(10)
    expect((await paris.status('u')).tightest).toMatchObject({
      spentMicros: 40,
      resetAt: Date.UTC(2026, 2, 28, 23),
    })
    expect((await utc.status('u')).tightest).toMatchObject({
      spentMicros: 10,
      resetAt: Date.UTC(2026, 2, 29),
    })
    t += 1 // Paris midnight: a new (23-hour) day; still the same UTC day
    expect((await paris.status('u')).tightest).toMatchObject({
      spentMicros: 0,
      resetAt: Date.UTC(2026, 2, 29, 22),
    })
    expect((await paris.spend('u')).periodId).toBe('d2026-03-29')
    expect((await utc.status('u')).tightest).toMatchObject({ spentMicros: 10 })
    t = Date.UTC(2026, 2, 29) // UTC midnight
    expect((await utc.status('u')).tightest).toMatchObject({ spentMicros: 0 })
    t = Date.UTC(2026, 2, 28, 12) // the clock goes back: the earlier day and its spend again
    expect((await paris.status('u')).tightest).toMatchObject({ spentMicros: 40 })
    expect((await utc.status('u')).tightest).toMatchObject({ spentMicros: 10 })
  })
})
