/**
 * @module duration
 * Durations in options: milliseconds, or `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`.
 */
import { InvalidOptionsError } from '@aikit/core'

/** Milliseconds, or a string such as `'30s'`, `'5m'`, `'1h'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses a duration to whole milliseconds (>= 1); throws `InvalidOptionsError(field)`. */
export function parseDuration(value: unknown, field: string): number {
  let ms: number | undefined
  if (typeof value === 'number') ms = value
  else if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim())
    if (m) ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number)
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 1 || ms > 365 * 86_400_000) {
    throw new InvalidOptionsError(
      field,
      "must be milliseconds or a duration such as '30s', '5m', '1h'"
    )
  }
  return Math.round(ms)
}
