/**
 * @module limits
 * Budget limit options and their validation into the form the budget ops use.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { type Duration, parseDuration } from './period.js'

/** One limit: at most `usd` (or `micros`) per period. */
export interface BudgetLimitOptions {
  /** `'day'` or `'month'` (calendar, in `timeZone`) or `'rolling'` (needs `window`). */
  period: 'day' | 'month' | 'rolling'
  /** Rolling window length, e.g. `'24h'`, `'7d'` (rolling only). */
  window?: Duration
  /** Limit in USD, rounded to the nearest micro-dollar (6 decimals). Give this or `micros`. */
  usd?: number
  /** Limit in micro-dollars (integer). Give this or `usd`. */
  micros?: number
}

/** The keys of `BudgetLimitOptions`: any other key in a limit is refused. */
const BUDGET_LIMIT_OPTION_KEYS = [
  'period',
  'window',
  'usd',
  'micros',
] as const satisfies readonly (keyof BudgetLimitOptions)[]

/** A validated limit. */
export interface Limit {
  readonly name: string
  readonly period: 'day' | 'month' | 'rolling'
  readonly limitMicros: number
  readonly windowMs: number
  readonly bucketMs: number
}

const MAX_MICROS = 2 ** 50
const ROLLING_BUCKETS = 60

/**
 * Validates limit options; throws `InvalidOptionsError` naming the bad field, an unknown key
 * included (a misspelt `usd` or `window` must not leave a limit unlimited or on another period).
 */
export function compileLimits(input: unknown, field: string): readonly Limit[] {
  if (input === undefined) return []
  if (!Array.isArray(input)) {
    throw new InvalidOptionsError(field, 'must be an array of { period, usd | micros, window? }')
  }
  const seen = new Set<string>()
  // `map` skips the holes of a sparse array (`[, { … }]`): a hole is an entry that is not an object.
  return Array.from(input, (raw: unknown, i) => {
    const f = `${field}[${i}]`
    if (raw === null || typeof raw !== 'object')
      throw new InvalidOptionsError(f, 'must be an object')
    rejectUnknownOptions(raw, BUDGET_LIMIT_OPTION_KEYS, `${f}.`)
    const l = raw as BudgetLimitOptions
    if (l.period !== 'day' && l.period !== 'month' && l.period !== 'rolling') {
      throw new InvalidOptionsError(`${f}.period`, "must be 'day', 'month' or 'rolling'")
    }
    let limitMicros: number
    if (l.usd !== undefined && l.micros !== undefined) {
      throw new InvalidOptionsError(f, 'give `usd` or `micros`, not both')
    }
    if (l.usd !== undefined) {
      if (typeof l.usd !== 'number' || !Number.isFinite(l.usd) || l.usd < 0) {
        throw new InvalidOptionsError(`${f}.usd`, 'must be a non-negative number')
      }
      limitMicros = Math.round(l.usd * 1e6)
    } else if (l.micros !== undefined) {
      if (!Number.isSafeInteger(l.micros) || l.micros < 0) {
        throw new InvalidOptionsError(`${f}.micros`, 'must be a non-negative integer')
      }
      limitMicros = l.micros
    } else {
      throw new InvalidOptionsError(`${f}.usd`, 'is required (or `micros`)')
    }
    if (limitMicros > MAX_MICROS) {
      throw new InvalidOptionsError(f, `must be at most ${MAX_MICROS} micro-dollars`)
    }
    let windowMs = 0
    let bucketMs = 0
    if (l.period === 'rolling') {
      windowMs = parseDuration(l.window, `${f}.window`)
      bucketMs = Math.max(1, Math.ceil(windowMs / ROLLING_BUCKETS))
    } else if (l.window !== undefined) {
      throw new InvalidOptionsError(`${f}.window`, "is only for period 'rolling'")
    }
    const name = l.period === 'rolling' ? `rolling:${windowMs}` : l.period
    if (seen.has(name)) throw new InvalidOptionsError(f, `duplicates an earlier ${name} limit`)
    seen.add(name)
    return { name, period: l.period, limitMicros, windowMs, bucketMs }
  })
}
