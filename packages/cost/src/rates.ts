/**
 * @module rates
 * Integer rates for `price-table.ts`: values in millionths (USD per million tokens held as whole
 * micro-dollars, multipliers as whole millionths), and the billing-mode multipliers (`Usage.speed`,
 * `Usage.inferenceGeo`) applied to a set of rates, rounded up so a price is never below the truth.
 */
import { InvalidOptionsError } from '@aikit/core'
import { UNLISTED_MULTIPLIERS } from './prices.js'
import type { Usage } from './usage.js'

export const ONE_MILLION = 1_000_000n
const NO_MULTIPLIERS: ReadonlyMap<string, bigint> = new Map()

/** Rates as integer micro-dollars per million tokens. */
export interface Rates {
  input: bigint
  output: bigint
  cacheWrite5m: bigint
  cacheWrite1h: bigint
  cacheRead: bigint
  /** The same rates as Numbers (exact: integers far below 2^53), for the Number fast path. */
  n: NumberRates
  /** These rates times a billing-mode multiplier (millionths), made on first use. */
  scaled?: Map<bigint, Rates>
}

export interface NumberRates {
  input: number
  output: number
  cacheWrite5m: number
  cacheWrite1h: number
  cacheRead: number
}

/** `value` in millionths (an integer), or `InvalidOptionsError` naming `field` (`unit` in its text). */
export function millionths(value: unknown, field: string, unit: string): bigint {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidOptionsError(field, `must be a non-negative number (${unit})`)
  }
  const scaled = Math.round(value * 1e6)
  if (Math.abs(value * 1e6 - scaled) > 1e-6 * Math.max(1, scaled)) {
    throw new InvalidOptionsError(field, `must have at most 6 decimals (${unit})`)
  }
  return BigInt(scaled)
}

/**
 * A `multipliers.speed` / `.inferenceGeo` object: mode → multiplier in millionths (each > 0).
 * `bases` (`'standard'`; `UNBILLED_GEOS`) are the modes the entry's own rates are for, always
 * billed 1×: a multiplier other than 1 for one would be ignored, so it is refused.
 */
export function compileModes(
  value: unknown,
  field: string,
  bases: ReadonlySet<string>
): ReadonlyMap<string, bigint> {
  if (value === undefined) return NO_MULTIPLIERS
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionsError(field, 'must be an object of multipliers, e.g. { fast: 6 }')
  }
  const modes = new Map<string, bigint>()
  for (const [mode, m] of Object.entries(value)) {
    const f = `${field}.${mode}`
    const scaled = millionths(m, f, 'a multiplier of every token rate')
    if (scaled === 0n) throw new InvalidOptionsError(f, 'must be above 0 (a mode is never free)')
    if (bases.has(mode) && scaled !== ONE_MILLION) {
      throw new InvalidOptionsError(
        f,
        `must be 1 if given: '${mode}' is billed at the entry's own rates (change those instead)`
      )
    }
    modes.set(mode, scaled)
  }
  return modes
}

/** `rates` times `m` millionths, each rate rounded up (cached on `rates`). */
export function scaledRates(rates: Rates, m: bigint): Rates {
  rates.scaled ??= new Map()
  let out = rates.scaled.get(m)
  if (out === undefined) {
    const up = (r: bigint): bigint => (r * m + ONE_MILLION - 1n) / ONE_MILLION
    const input = up(rates.input)
    const output = up(rates.output)
    const cacheWrite5m = up(rates.cacheWrite5m)
    const cacheWrite1h = up(rates.cacheWrite1h)
    const cacheRead = up(rates.cacheRead)
    out = {
      input,
      output,
      cacheWrite5m,
      cacheWrite1h,
      cacheRead,
      n: numberRates(input, output, cacheWrite5m, cacheWrite1h, cacheRead),
    }
    rates.scaled.set(m, out)
  }
  return out
}

export function numberRates(
  input: bigint,
  output: bigint,
  cacheWrite5m: bigint,
  cacheWrite1h: bigint,
  cacheRead: bigint
): NumberRates {
  return {
    input: Number(input),
    output: Number(output),
    cacheWrite5m: Number(cacheWrite5m),
    cacheWrite1h: Number(cacheWrite1h),
    cacheRead: Number(cacheRead),
  }
}

const UNLISTED_SPEED = BigInt(Math.round(UNLISTED_MULTIPLIERS.speed * 1e6))
const UNLISTED_GEO = BigInt(Math.round(UNLISTED_MULTIPLIERS.inferenceGeo * 1e6))

/** An entry's compiled `multipliers`: mode → millionths, by `Usage.speed` and `Usage.inferenceGeo`. */
export interface CompiledModes {
  readonly speed: ReadonlyMap<string, bigint>
  readonly geo: ReadonlyMap<string, bigint>
}

/**
 * `inference_geo` values that name no data-residency mode, billed as `'global'`: Anthropic reports
 * `'not_available'` on models without data residency (before Opus 4.6), and an empty value says
 * nothing either. Every other geo (`'us'`, or one no entry lists) is a paid mode.
 */
export const UNBILLED_GEOS: ReadonlySet<string> = new Set(['global', 'not_available', ''])

/**
 * The billing-mode multiplier of `usage` in millionths: 1,000,000 for standard speed and global
 * inference (`UNBILLED_GEOS`); the entry's multiplier for any other mode, else
 * `UNLISTED_MULTIPLIERS`; two modes multiply (rounded up).
 */
export function modeMultiplier(modes: CompiledModes, usage: Usage): bigint {
  let m = ONE_MILLION
  const speed = usage.speed
  if (speed !== undefined && speed !== 'standard') m = modes.speed.get(speed) ?? UNLISTED_SPEED
  const geo = usage.inferenceGeo
  if (geo !== undefined && !UNBILLED_GEOS.has(geo)) {
    const g = modes.geo.get(geo) ?? UNLISTED_GEO
    m = (m * g + ONE_MILLION - 1n) / ONE_MILLION
  }
  return m
}
