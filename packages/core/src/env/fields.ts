/**
 * @module env/fields
 * Schemas for the shapes environment variables usually take. Each one parses the raw string
 * (`process.env` values are always strings) into the value the app uses.
 */
import { z } from 'zod'
import { InvalidOptionsError } from '../errors.js'
import { createIpResolver, type TrustProxy } from '../trust-proxy.js'

/** A TCP port: an integer from 0 to 65535, from its decimal string. */
export function port(): z.ZodType<number, string> {
  return z
    .string()
    .regex(/^\d{1,5}$/, 'expected a port number')
    .transform(Number)
    .pipe(z.number().int().min(0).max(65_535))
}

/** A finite number (`Number(value)`), e.g. a timeout in milliseconds. */
export function num(): z.ZodType<number, string> {
  return z
    .string()
    .trim()
    .min(1)
    .transform(Number)
    .pipe(z.number().refine(Number.isFinite, 'expected a finite number'))
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

/** A boolean from `true/false`, `1/0`, `yes/no` or `on/off` (any case). */
export function bool(): z.ZodType<boolean, string> {
  return z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .refine((v) => TRUE.has(v) || FALSE.has(v), 'expected true/false, 1/0, yes/no or on/off')
    .transform((v) => TRUE.has(v))
}

/**
 * An absolute URL, parsed into a `URL`. `protocols` limits the scheme (without the colon), e.g.
 * `url(['redis', 'rediss'])`. A URL with a password belongs in `secret(url())`.
 */
export function url(protocols?: readonly string[]): z.ZodType<URL, string> {
  const allowed = protocols?.map((p) => `${p.replace(/:$/, '')}:`)
  return z
    .string()
    .refine((v) => URL.canParse(v), 'expected an absolute URL')
    .transform((v) => new URL(v))
    .refine(
      (u) => allowed === undefined || allowed.includes(u.protocol),
      allowed === undefined ? 'expected a URL' : `expected a ${allowed.join(' or ')} URL`
    )
}

/** A comma-separated list, items trimmed, empty items dropped: `a, b,,c` → `['a', 'b', 'c']`. */
export function list(): z.ZodType<string[], string> {
  return z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  )
}

/** The log levels the kit's logger (winston's npm levels) knows. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const

/** A log level (`LOG_LEVELS`), case-insensitive. */
export function logLevel(): z.ZodType<(typeof LOG_LEVELS)[number], string> {
  return z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.enum(LOG_LEVELS))
}

/**
 * Why the adapters refuse a `trustProxy` setting (`createIpResolver`, their own check), in words
 * that never quote it; undefined when they accept it.
 */
function adapterRefusal(value: TrustProxy): string | undefined {
  try {
    createIpResolver(value)
    return undefined
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    // The reason after the field's name; `trustProxy[i]` names the i-th item of a list.
    const reason = error.message.replace(/^Invalid option `[^`]*`: /, '')
    const item = /\[(\d+)\]$/.exec(error.field)
    return item === null || !Array.isArray(value) ? reason : `item ${Number(item[1]) + 1} ${reason}`
  }
}

/**
 * The adapters' `trustProxy` option: `false`/`0` (none), a hop count (up to 32), or a comma list
 * of IPs, CIDRs and named ranges (`loopback`, `linklocal`, `uniquelocal`). A value the adapters
 * would refuse is refused here, with their own check: `true`, a hop count over 32, a malformed
 * CIDR, a word that is no named range.
 */
export function trustProxy(): z.ZodType<TrustProxy, string> {
  return z
    .string()
    .transform((v) => v.trim())
    .refine(
      (v) => v.toLowerCase() !== 'true',
      'expected false, a hop count or CIDRs (trusting every hop is refused)'
    )
    .transform((v): TrustProxy => {
      if (v === '' || v.toLowerCase() === 'false' || v === '0') return false
      if (/^\d+$/.test(v)) return Number(v)
      const items = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
      if (items.length === 0) return false // `,`: no proxy named
      return items.length === 1 ? items[0]! : items
    })
    .superRefine((value, ctx) => {
      const refusal = adapterRefusal(value)
      if (refusal !== undefined) ctx.addIssue({ code: 'custom', message: refusal })
    })
}
