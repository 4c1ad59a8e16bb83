/**
 * @module headers-options
 * Validates the per-header options of `securityHeaders()` and turns each into its final header
 * value, once, at construction. Values and defaults follow helmet 8.3 exactly (see the golden
 * test), so an app moving from helmet keeps the same headers; so does validation (what helmet
 * refuses is refused here: `maxAge: null`, a non-string `action`), except that a header's value of
 * the wrong type, which helmet reads as its defaults without a word (`xFrameOptions: 'deny'` sends
 * `SAMEORIGIN`, `referrerPolicy: 5` sends `no-referrer`), throws here, and so does an HSTS
 * `maxAge` above Number.MAX_SAFE_INTEGER (helmet writes it in exponent form, which browsers ignore).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'

/** `Cross-Origin-Embedder-Policy` options. */
export interface CrossOriginEmbedderPolicyOptions {
  /** @default 'require-corp' */
  policy?: 'require-corp' | 'credentialless' | 'unsafe-none'
}
export const COEP_KEYS = Object.keys({ policy: true } satisfies Record<
  keyof CrossOriginEmbedderPolicyOptions,
  true
>)
/** `Cross-Origin-Opener-Policy` options. */
export interface CrossOriginOpenerPolicyOptions {
  /** @default 'same-origin' */
  policy?: 'same-origin' | 'same-origin-allow-popups' | 'noopener-allow-popups' | 'unsafe-none'
}
export const COOP_KEYS = Object.keys({ policy: true } satisfies Record<
  keyof CrossOriginOpenerPolicyOptions,
  true
>)
/** `Cross-Origin-Resource-Policy` options. */
export interface CrossOriginResourcePolicyOptions {
  /** @default 'same-origin' */
  policy?: 'same-origin' | 'same-site' | 'cross-origin'
}
export const CORP_KEYS = Object.keys({ policy: true } satisfies Record<
  keyof CrossOriginResourcePolicyOptions,
  true
>)
/** A `Referrer-Policy` token. */
export type ReferrerPolicyToken =
  | 'no-referrer'
  | 'no-referrer-when-downgrade'
  | 'same-origin'
  | 'origin'
  | 'strict-origin'
  | 'origin-when-cross-origin'
  | 'strict-origin-when-cross-origin'
  | 'unsafe-url'
  | ''
/** `Referrer-Policy` options. */
export interface ReferrerPolicyOptions {
  /** One token or a fallback list (joined with commas). @default 'no-referrer' */
  policy?: ReferrerPolicyToken | readonly ReferrerPolicyToken[]
}
export const REFERRER_POLICY_KEYS = Object.keys({ policy: true } satisfies Record<
  keyof ReferrerPolicyOptions,
  true
>)
/** `Strict-Transport-Security` options. */
export interface StrictTransportSecurityOptions {
  /**
   * Seconds: a number from 0 to `Number.MAX_SAFE_INTEGER`, rounded down (`null` or a string
   * throws, as in helmet; a larger value such as `Number.MAX_VALUE` throws too, unlike helmet,
   * which would write it as `1.7976931348623157e+308`, a header browsers ignore).
   * @default 31536000 (365 days)
   */
  maxAge?: number
  /** @default true */
  includeSubDomains?: boolean
  /** @default false */
  preload?: boolean
}
export const HSTS_KEYS = Object.keys({
  maxAge: true,
  includeSubDomains: true,
  preload: true,
} satisfies Record<keyof StrictTransportSecurityOptions, true>)
/** `X-DNS-Prefetch-Control` options. */
export interface XDnsPrefetchControlOptions {
  /** `true` sends `on`. @default false (`off`) */
  allow?: boolean
}
export const X_DNS_PREFETCH_CONTROL_KEYS = Object.keys({ allow: true } satisfies Record<
  keyof XDnsPrefetchControlOptions,
  true
>)
/** `X-Frame-Options` options. */
export interface XFrameOptionsOptions {
  /** Any case; a value that is not a string throws, as in helmet. @default 'sameorigin' */
  action?: 'deny' | 'sameorigin' | 'DENY' | 'SAMEORIGIN'
}
export const X_FRAME_OPTIONS_KEYS = Object.keys({ action: true } satisfies Record<
  keyof XFrameOptionsOptions,
  true
>)
/** `X-Permitted-Cross-Domain-Policies` options. */
export interface XPermittedCrossDomainPoliciesOptions {
  /** @default 'none' */
  permittedPolicies?: 'none' | 'master-only' | 'by-content-type' | 'all'
}
export const X_PERMITTED_KEYS = Object.keys({ permittedPolicies: true } satisfies Record<
  keyof XPermittedCrossDomainPoliciesOptions,
  true
>)

/** An option that is on by default: `false` removes the header, `true` or `{}` keeps the default. */
export type Toggle<T> = boolean | T

function fail(field: string, message: string): never {
  throw new InvalidOptionsError(field, message)
}

/**
 * `undefined` → default, `false` → off, `true` → `{}`, an object → itself; anything else throws.
 * An object with a key outside `known` throws too (helmet ignores those, so a misspelt
 * `xFrameOptions: { acton: 'deny' }` would silently send its default).
 */
export function toggle<T extends object>(
  field: string,
  value: unknown,
  onByDefault: boolean,
  known: readonly string[]
): T | undefined {
  if (value === undefined) return onByDefault ? ({} as T) : undefined
  if (value === false) return undefined
  if (value === true) return {} as T
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    rejectUnknownOptions(value, known, `${field}.`)
    return value as T
  }
  return fail(field, 'must be a boolean or an options object')
}

function oneOf(
  field: string,
  value: unknown,
  allowed: readonly string[],
  fallback: string
): string {
  if (value === undefined) return fallback
  if (typeof value === 'string' && allowed.includes(value)) return value
  return fail(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`)
}

export function coepValue(o: CrossOriginEmbedderPolicyOptions): string {
  return oneOf(
    'crossOriginEmbedderPolicy.policy',
    o.policy,
    ['require-corp', 'credentialless', 'unsafe-none'],
    'require-corp'
  )
}

export function coopValue(o: CrossOriginOpenerPolicyOptions): string {
  return oneOf(
    'crossOriginOpenerPolicy.policy',
    o.policy,
    ['same-origin', 'same-origin-allow-popups', 'noopener-allow-popups', 'unsafe-none'],
    'same-origin'
  )
}

export function corpValue(o: CrossOriginResourcePolicyOptions): string {
  return oneOf(
    'crossOriginResourcePolicy.policy',
    o.policy,
    ['same-origin', 'same-site', 'cross-origin'],
    'same-origin'
  )
}

const REFERRER_TOKENS: readonly string[] = [
  'no-referrer',
  'no-referrer-when-downgrade',
  'same-origin',
  'origin',
  'strict-origin',
  'origin-when-cross-origin',
  'strict-origin-when-cross-origin',
  'unsafe-url',
  '',
]

export function referrerPolicyValue(o: ReferrerPolicyOptions): string {
  const field = 'referrerPolicy.policy'
  // Only `undefined` takes the default: `null` is refused, as helmet does.
  const raw: unknown = o.policy === undefined ? 'no-referrer' : o.policy
  const tokens: unknown = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(tokens) || tokens.length === 0) fail(field, 'needs at least one token')
  const seen = new Set<string>()
  for (const t of tokens) {
    if (typeof t !== 'string' || !REFERRER_TOKENS.includes(t)) {
      fail(field, 'has an unknown policy token')
    }
    if (seen.has(t)) fail(field, `has a duplicate token '${t}'`)
    seen.add(t)
  }
  return tokens.join(',')
}

/** `o` has passed `toggle` (helmet's `maxage` / `includeSubdomains` typos are refused there). */
export function hstsValue(o: StrictTransportSecurityOptions, field: string): string {
  // Only `undefined` takes the default: `null` is refused, as helmet does.
  const maxAge = o.maxAge === undefined ? 31_536_000 : o.maxAge
  // Stricter than helmet, which writes any finite value: past Number.MAX_SAFE_INTEGER the value
  // is no longer exact, and from 1e21 (`Number.MAX_VALUE`, a "forever" idiom) it prints as
  // `1e+21`, not delta-seconds, and browsers ignore the whole header: HSTS would be silently off.
  if (
    typeof maxAge !== 'number' ||
    !(maxAge >= 0) ||
    !Number.isFinite(maxAge) ||
    maxAge > Number.MAX_SAFE_INTEGER
  ) {
    fail(`${field}.maxAge`, 'must be a number of seconds from 0 to Number.MAX_SAFE_INTEGER')
  }
  // Stricter than helmet, which reads any truthy value as true: `preload: 'false'` would ask
  // browsers to hard-code HTTPS for the whole domain.
  for (const key of ['includeSubDomains', 'preload'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean')
      fail(`${field}.${key}`, 'must be a boolean')
  }
  let value = `max-age=${Math.floor(maxAge)}`
  if (o.includeSubDomains === undefined || o.includeSubDomains) value += '; includeSubDomains'
  if (o.preload) value += '; preload'
  return value
}

export function xFrameOptionsValue(o: XFrameOptionsOptions, field: string): string {
  const raw: unknown = o.action === undefined ? 'sameorigin' : o.action
  // A string only, as helmet: `String(['deny'])` would turn an array into a valid action.
  const action = typeof raw === 'string' ? raw.toUpperCase() : undefined
  if (action === 'SAMEORIGIN' || action === 'SAME-ORIGIN') return 'SAMEORIGIN'
  if (action === 'DENY') return 'DENY'
  return fail(`${field}.action`, "must be 'deny' or 'sameorigin'")
}

export function xPermittedValue(o: XPermittedCrossDomainPoliciesOptions, field: string): string {
  return oneOf(
    `${field}.permittedPolicies`,
    o.permittedPolicies,
    ['none', 'master-only', 'by-content-type', 'all'],
    'none'
  )
}
