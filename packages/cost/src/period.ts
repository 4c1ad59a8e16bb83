/**
 * @module period
 * Budget periods: calendar days and months aligned to an IANA time zone (via `Intl`, edge-safe), or a
 * rolling window. The calendar period a call belongs to is picked from the caller's clock (the
 * period is part of the store key, and keys are built before the script runs); everything else
 * (reservation expiry, rolling windows) uses the store's clock.
 */
import { InvalidOptionsError } from '@aikit/core'

/** A calendar period instance. */
export interface CalendarPeriod {
  /** Key part, e.g. `d2026-11-25`, `m2026-11`. */
  readonly id: string
  /** Epoch ms of the period's first instant in the time zone. */
  readonly start: number
  /** Epoch ms of the next period's first instant (the reset time). */
  readonly end: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** Throws `InvalidOptionsError(field)` unless `timeZone` is an IANA zone `Intl` knows. */
export function validateTimeZone(timeZone: unknown, field = 'timeZone'): string {
  if (typeof timeZone !== 'string' || timeZone.length === 0) {
    throw new InvalidOptionsError(
      field,
      'must be an IANA time zone such as "UTC" or "Europe/Paris"'
    )
  }
  try {
    formatter(timeZone)
  } catch {
    throw new InvalidOptionsError(field, `unknown time zone ${JSON.stringify(timeZone)}`)
  }
  return timeZone
}

interface Wall {
  y: number
  m: number
  d: number
  h: number
  mi: number
  s: number
}

function wallClock(ms: number, timeZone: string): Wall {
  const out: Record<string, number> = {}
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value)
  }
  return {
    y: out.year ?? 1970,
    m: out.month ?? 1,
    d: out.day ?? 1,
    h: out.hour ?? 0,
    mi: out.minute ?? 0,
    s: out.second ?? 0,
  }
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (wall clock − UTC). */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone)
  const asUtc = Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s)
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000))
}

/** `y-m-d` as one comparable number (`20240908`). */
const dateNumber = (y: number, m: number, d: number): number => y * 10_000 + m * 100 + d

function dateAt(ms: number, timeZone: string): number {
  const w = wallClock(ms, timeZone)
  return dateNumber(w.y, w.m, w.d)
}

/** Earlier than any local midnight of the UTC date starting at `guess` (offsets stay below +16h). */
const EARLIEST_MIDNIGHT_MS = 16 * 3_600_000

/**
 * The first instant of the local date `y-m-d` in `timeZone`: its midnight, the first of two
 * midnights, or the end of a jump over midnight.
 *
 * Two passes (the offset at `y-m-d 00:00` read as UTC, then the offset at that first guess) find a
 * midnight whenever one exists, and then one check: the second before it must be in an earlier
 * date. Two cases fail it, both on a day whose offset changes near midnight:
 * - midnight is skipped (DST starting at 00:00: America/Santiago, America/Havana, Atlantic/Azores…,
 *   23:59:59 is followed by 01:00): the second pass lands an hour early, in the previous date, and
 *   the first pass's candidate is already in `y-m-d`;
 * - midnight happens twice (clocks set back from after midnight: Asia/Amman and Asia/Gaza's 01:00 →
 *   00:00, Antarctica/Vostok's 00:00 +07 → 22:00 +05): the passes find the later one.
 * The first instant whose date is `y-m-d` is then found by a binary search to the second (Intl's
 * resolution; offsets change on whole seconds), 12 to 16 more `formatToParts` calls on those few
 * days. The check costs one call per boundary; periods are cached (`periodAt`), so all this runs
 * when the clock leaves a period, not per reserve or settle.
 */
function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d)
  const first = guess - offsetAt(guess, timeZone)
  const second = guess - offsetAt(first, timeZone)
  const target = dateNumber(y, m, d)
  let lo: number
  let hi: number
  if (second !== first && dateAt(second, timeZone) < target) {
    // Skipped: the start is in (second, first] (the clocks moved forward, so `first` is later).
    lo = Math.min(first, second)
    hi = Math.max(first, second)
    if (dateAt(hi, timeZone) < target) return second // neither is in the date: no known zone
  } else if (dateAt(second - 1000, timeZone) >= target) {
    // An earlier midnight (`second`'s wall clock is y-m-d 00:00).
    lo = guess - EARLIEST_MIDNIGHT_MS
    hi = second
  } else {
    return second
  }
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000
    if (dateAt(mid, timeZone) >= target) hi = mid
    else lo = mid
  }
  return hi
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** The calendar `day` or `month` containing `ms` in `timeZone`. */
export function calendarPeriod(
  kind: 'day' | 'month',
  ms: number,
  timeZone: string
): CalendarPeriod {
  const w = wallClock(ms, timeZone)
  if (kind === 'day') {
    const next = new Date(Date.UTC(w.y, w.m - 1, w.d + 1))
    return {
      id: `d${w.y}-${pad(w.m)}-${pad(w.d)}`,
      start: localMidnight(w.y, w.m, w.d, timeZone),
      end: localMidnight(
        next.getUTCFullYear(),
        next.getUTCMonth() + 1,
        next.getUTCDate(),
        timeZone
      ),
    }
  }
  const ny = w.m === 12 ? w.y + 1 : w.y
  const nm = w.m === 12 ? 1 : w.m + 1
  return {
    id: `m${w.y}-${pad(w.m)}`,
    start: localMidnight(w.y, w.m, 1, timeZone),
    end: localMidnight(ny, nm, 1, timeZone),
  }
}

/** Zones whose wall clock is UTC: their periods need no `Intl` at all. */
const UTC_ZONES = new Set(['UTC', 'Etc/UTC'])
const DAY_MS = 86_400_000

/** UTC periods by plain date arithmetic (the same result `Intl` gives for UTC, without its cost). */
function utcPeriod(kind: 'day' | 'month', ms: number): CalendarPeriod {
  const date = new Date(ms)
  const y = date.getUTCFullYear()
  const m = date.getUTCMonth() + 1
  if (kind === 'day') {
    const start = Math.floor(ms / DAY_MS) * DAY_MS
    return { id: `d${y}-${pad(m)}-${pad(date.getUTCDate())}`, start, end: start + DAY_MS }
  }
  return { id: `m${y}-${pad(m)}`, start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) }
}

// The period current per (kind, zone), shared by every budget: it does not depend on the subject,
// and `formatToParts` costs microseconds, so it runs only when the clock leaves the cached window.
const current = new Map<string, CalendarPeriod>()

/**
 * `calendarPeriod`, cached: the window containing `ms` is computed once per (kind, time zone) and
 * reused until `ms` leaves it (either way: an injected clock may go back).
 */
export function periodAt(kind: 'day' | 'month', ms: number, timeZone: string): CalendarPeriod {
  const cacheKey = `${kind}|${timeZone}`
  const cached = current.get(cacheKey)
  if (cached !== undefined && ms >= cached.start && ms < cached.end) return cached
  const p = UTC_ZONES.has(timeZone) ? utcPeriod(kind, ms) : calendarPeriod(kind, ms, timeZone)
  // Only a window that really contains `ms` may be reused (a defensive check for odd zones).
  if (ms >= p.start && ms < p.end) current.set(cacheKey, p)
  return p
}

/** A duration: positive integer ms, or `'30s'`, `'15m'`, `'24h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const PATTERN = /^([1-9][0-9]*)(ms|s|m|h|d)$/

/** Parses a `Duration` to ms; throws `InvalidOptionsError(field)` on anything else. */
export function parseDuration(value: unknown, field: string): number {
  let ms: number | undefined
  if (typeof value === 'number') ms = value
  else if (typeof value === 'string') {
    const match = PATTERN.exec(value)
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  }
  if (ms === undefined || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new InvalidOptionsError(
      field,
      `must be a positive integer of ms or a duration such as '30s', '15m', '24h', '7d'; got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`
    )
  }
  return ms
}
