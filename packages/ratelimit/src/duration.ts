/**
 * @module duration
 * `parseWindow`: a window length given as milliseconds or as a short duration string.
 */
import { InvalidOptionsError } from '@aikit/core'

/** A window length: a positive integer number of milliseconds, or `'500ms'`, `'10s'`, `'1m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

const PATTERN = /^([1-9][0-9]*)(ms|s|m|h|d)$/

/**
 * Parses a window length into milliseconds.
 * @param value - a positive integer (milliseconds) or a string such as `'10s'`, `'1m'`, `'1h'`, `'1d'`,
 * `'500ms'` (a positive integer followed by one unit, no spaces).
 * @param field - the option path named in the error, e.g. `limits[0].window`.
 * @returns a positive safe integer number of milliseconds.
 * @throws InvalidOptionsError naming `field` for anything else.
 */
export function parseWindow(value: unknown, field = 'window'): number {
  let ms: number | undefined
  if (typeof value === 'number') {
    ms = value
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value)
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  }
  if (ms === undefined || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new InvalidOptionsError(
      field,
      `must be a positive integer number of milliseconds or a duration such as '500ms', '10s', '1m', '1h', '1d'; got ${describe(value)}`
    )
  }
  return ms
}

/** The bad value, for an error message: never throws (BigInt, null-prototype objects, cycles). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (typeof value === 'bigint') return `${value}n`
  return typeof value
}
