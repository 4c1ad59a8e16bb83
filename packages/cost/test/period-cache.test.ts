/**
 * Calendar periods. The cached window (`periodAt`) equals the uncached `calendarPeriod` (Intl) at
 * every instant, including UTC's arithmetic fast path, month ends, leap days and DST changes; every
 * instant lies inside its own period, which starts at the first instant of its local date and ends
 * where the next one starts, also in zones whose clocks jump over midnight (DST starting at 00:00:
 * America/Santiago, America/Havana, Atlantic/Azores…: the day before must not end at 23:00) or pass
 * it twice (clocks set back from after midnight: Asia/Amman, Antarctica/Vostok: the day starts at
 * the first). A budget with an injected clock moves to the next period exactly at the boundary and
 * back when the clock goes back, two budgets in different zones sharing the cache never see each
 * other's window, and a day before a jump over midnight keeps its spend to its real end.
 */
import { memoryStore } from '@aikit/core'
import { BudgetExceededError, createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'
import { calendarPeriod, periodAt } from '../src/period.js'

const HOUR = 3_600_000

// Clocks jumping over midnight (00:00 → 01:00): the instant of the jump, the new date's first.
/** Chile: Saturday 2024-09-07 24:00 -04 became Sunday 2024-09-08 01:00 -03. */
const SANTIAGO_JUMP = Date.UTC(2024, 8, 8, 4)
/** Cuba: 2024-03-10 00:00 -05 became 01:00 -04. */
const HAVANA_JUMP = Date.UTC(2024, 2, 10, 5)
/** Paraguay: 2023-10-01 00:00 -04 became 01:00 -03: September ended at the jump. */
const ASUNCION_JUMP = Date.UTC(2023, 9, 1, 4)
/** Azores: 2026-03-29 00:00 -01 became 01:00 +00. */
const AZORES_JUMP = Date.UTC(2026, 2, 29, 1)
// Clocks set back across midnight: the date's first midnight (its second is later).
/** Jordan: 2021-10-29 01:00 +03 became 00:00 +02: the day began at 00:00 +03. */
const AMMAN_FIRST_MIDNIGHT = Date.UTC(2021, 9, 28, 21)
/** Vostok: 2023-12-18 02:00 +07 became 00:00 +05: the day began at 00:00 +07. */
const VOSTOK_FIRST_MIDNIGHT = Date.UTC(2023, 11, 17, 17)

/** Instants near each zone's own changes around midnight, beside the common anchors. */
const ZONE_ANCHORS: Record<string, readonly number[]> = {
  'America/Santiago': [SANTIAGO_JUMP, Date.UTC(2024, 3, 7, 3), Date.UTC(2026, 8, 6, 4)],
  'America/Coyhaique': [SANTIAGO_JUMP, Date.UTC(2024, 3, 7, 3)],
  'America/Havana': [HAVANA_JUMP, Date.UTC(2024, 10, 3, 5)],
  'America/Asuncion': [ASUNCION_JUMP, Date.UTC(2024, 2, 24, 3), Date.UTC(2024, 9, 6, 4)],
  'Asia/Amman': [AMMAN_FIRST_MIDNIGHT + HOUR],
  'Antarctica/Vostok': [VOSTOK_FIRST_MIDNIGHT + 2 * HOUR],
}

/** Instants around every boundary of interest: month ends, a leap day, DST changes, year end. */
function instants(zone: string): number[] {
  const out: number[] = []
  const anchors = [
    ...(ZONE_ANCHORS[zone] ?? []),
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

const dateFormats = new Map<string, Intl.DateTimeFormat>()

/** The local date at `ms` as a period id (`d2024-09-07`, or `m2024-09` for a month). */
function localId(kind: 'day' | 'month', ms: number, zone: string): string {
  let f = dateFormats.get(zone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    })
    dateFormats.set(zone, f)
  }
  const date = f.format(ms) // YYYY-MM-DD
  return kind === 'day' ? `d${date}` : `m${date.slice(0, 7)}`
}

describe('periodAt', () => {
  it.each([
    'UTC',
    'Etc/UTC',
    'Europe/Paris',
    'America/New_York',
    'Asia/Kolkata',
    'Pacific/Chatham',
    'America/Santiago',
    'America/Coyhaique',
    'America/Havana',
    'America/Asuncion',
    'Atlantic/Azores',
    'Asia/Amman',
    'Antarctica/Vostok',
  ])('gives the same window as calendarPeriod at every instant, which lies in it (%s)', (zone) => {
    for (const kind of ['day', 'month'] as const) {
      const periods = new Map<string, { start: number; end: number }>()
      for (const ms of instants(zone)) {
        const p = periodAt(kind, ms, zone)
        expect(p).toEqual(calendarPeriod(kind, ms, zone))
        expect([p.id, ms >= p.start && ms < p.end]).toEqual([localId(kind, ms, zone), true])
        periods.set(p.id, p)
      }
      // Each period starts at the first instant of its date (the second before is in the one
      // before) and ends where the next one starts.
      for (const [id, p] of periods) {
        expect([localId(kind, p.start, zone), localId(kind, p.end - 1000, zone)]).toEqual([id, id])
        expect(localId(kind, p.start - 1000, zone) < id).toBe(true)
        expect(calendarPeriod(kind, p.end, zone).start).toBe(p.end)
      }
    }
  })

  it.each([
    ['America/Santiago', SANTIAGO_JUMP, 'd2024-09-07'],
    ['America/Coyhaique', SANTIAGO_JUMP, 'd2024-09-07'],
    ['America/Havana', HAVANA_JUMP, 'd2024-03-09'],
    ['America/Asuncion', ASUNCION_JUMP, 'd2023-09-30'],
    ['Atlantic/Azores', AZORES_JUMP, 'd2026-03-28'],
  ])(
    '%s: the day before the clocks jump over midnight ends at the jump, not at 23:00',
    (zone, jump, id) => {
      const at = jump - 30 * 60_000 // 23:30 local, on the eve
      const p = calendarPeriod('day', at, zone)
      expect(p).toMatchObject({ id, end: jump })
      expect(at >= p.start && at < p.end).toBe(true)
      // The next day starts where it ends (not at 23:00 of the day before).
      expect(calendarPeriod('day', jump + HOUR, zone).start).toBe(jump)
      expect(periodAt('day', at, zone)).toEqual(p)
    }
  )

  it('a month ending at such a midnight (America/Asuncion, September 2023) ends when October starts', () => {
    const p = calendarPeriod('month', ASUNCION_JUMP - 30 * 60_000, 'America/Asuncion')
    expect(p).toMatchObject({ id: 'm2023-09', end: ASUNCION_JUMP })
    expect(calendarPeriod('month', ASUNCION_JUMP, 'America/Asuncion')).toMatchObject({
      id: 'm2023-10',
      start: ASUNCION_JUMP,
    })
  })

  it.each([
    ['Asia/Amman', AMMAN_FIRST_MIDNIGHT, 'd2021-10-29', HOUR],
    ['Antarctica/Vostok', VOSTOK_FIRST_MIDNIGHT, 'd2023-12-18', 2 * HOUR],
  ])('%s: a day whose midnight comes twice starts at the first', (zone, first, id, repeat) => {
    const p = calendarPeriod('day', first + 30 * 60_000, zone) // between the two midnights
    expect(p).toMatchObject({ id, start: first })
    expect(calendarPeriod('day', first + repeat + 30 * 60_000, zone)).toEqual(p)
    expect(calendarPeriod('day', first - 1, zone).end).toBe(first)
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

  it('the eve of a jump over midnight (America/Santiago): status resets in the future, at the jump', async () => {
    const t = SANTIAGO_JUMP - 30 * 60_000 // 23:30 local, Sept 7
    const budget = createBudget({
      store: memoryStore({ now: () => t }),
      limits: [{ period: 'day', micros: 100 }],
      timeZone: 'America/Santiago',
      now: () => t,
    })
    expect((await budget.status('u')).tightest?.resetAt).toBe(SANTIAGO_JUMP)
  })

  it('retainPeriods 0: the day before a jump over midnight keeps its spend until it really ends', async () => {
    let t = SANTIAGO_JUMP - 5 * HOUR // 19:00 local, Sept 7
    const budget = createBudget({
      store: memoryStore({ now: () => t }),
      limits: [{ period: 'day', micros: 100 }],
      timeZone: 'America/Santiago',
      retainPeriods: 0,
      now: () => t,
    })
    await (await budget.reserve('u', { estimateMicros: 100 })).settle(100)
    t = SANTIAGO_JUMP - 30 * 60_000 // 23:30 local, still Sept 7
    expect(await budget.spend('u')).toMatchObject({ periodId: 'd2024-09-07', totalMicros: 100 })
    expect((await budget.status('u')).tightest?.spentMicros).toBe(100)
    // The day's limit cannot be spent a second time in its last hour.
    await expect(budget.reserve('u', { estimateMicros: 100 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    t = SANTIAGO_JUMP // 01:00 local, Sept 8: a new day
    expect(await budget.spend('u')).toMatchObject({ periodId: 'd2024-09-08', totalMicros: 0 })
    await (await budget.reserve('u', { estimateMicros: 100 })).settle(100)
  })
})
