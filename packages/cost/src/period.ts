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

/** The instant of local midnight starting `y-m-d` in `timeZone` (DST-safe: two passes). */
function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d)
  let t = guess - offsetAt(guess, timeZone)
  const second = guess - offsetAt(t, timeZone)
  if (second !== t) t = second
  return t
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
