/**
 * @module duration
 * Durations in options: milliseconds, or `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`.
 */
import { InvalidOptionsError } from '@aikit/core'

/** Milliseconds, or a string such as `'30s'`, `'5m'`, `'1h'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * The longest delay a Node timer holds (2^31-1 ms, about 24.8 days): a longer one fires after 1 ms
 * (`TimeoutOverflowWarning`). The default limit of a duration, as most of them drive a timer.
 */
export const TIMER_MAX_MS = 2_147_483_647
/** The limit of a duration that is only a Redis TTL (no timer): a year. */
export const TTL_MAX_MS = 365 * 86_400_000

/**
 * Parses a duration to whole milliseconds, from 1 to `maxMs` (default `TIMER_MAX_MS`); throws
 * `InvalidOptionsError(field)`.
 */
export function parseDuration(value: unknown, field: string, maxMs: number = TIMER_MAX_MS): number {
  let ms: number | undefined
  if (typeof value === 'number') ms = value
  else if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim())
    if (m) ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number)
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 1) {
    throw new InvalidOptionsError(
      field,
      "must be milliseconds or a duration such as '30s', '5m', '1h'"
    )
  }
  if (Math.round(ms) > maxMs) {
    throw new InvalidOptionsError(
      field,
      maxMs === TIMER_MAX_MS
        ? `must be at most ${TIMER_MAX_MS} ms (about 24.8 days: the longest delay a Node timer holds)`
        : `must be at most ${maxMs} ms`
    )
  }
  return Math.round(ms)
}
