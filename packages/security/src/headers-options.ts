/**
 * @module headers-options
 * Validates the per-header options of `securityHeaders()` and turns each into its final header
 * value, once, at construction. Values and defaults follow helmet 8.3 exactly (see the golden
 * test), so an app moving from helmet keeps the same headers; so does validation (what helmet
 * refuses is refused here: `maxAge: null`, a non-string `action`), except that a header's value of
 * the wrong type, which helmet reads as its defaults without a word (`xFrameOptions: 'deny'` sends
 * `SAMEORIGIN`, `referrerPolicy: 5` sends `no-referrer`), throws here.
 */
import { InvalidOptionsError } from '@aikit/core'

/** `Cross-Origin-Embedder-Policy` options. */
export interface CrossOriginEmbedderPolicyOptions {
  /** @default 'require-corp' */
  policy?: 'require-corp' | 'credentialless' | 'unsafe-none'
}
/** `Cross-Origin-Opener-Policy` options. */
export interface CrossOriginOpenerPolicyOptions {
  /** @default 'same-origin' */
  policy?: 'same-origin' | 'same-origin-allow-popups' | 'noopener-allow-popups' | 'unsafe-none'
}
/** `Cross-Origin-Resource-Policy` options. */
export interface CrossOriginResourcePolicyOptions {
  /** @default 'same-origin' */
  policy?: 'same-origin' | 'same-site' | 'cross-origin'
}
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
/** `Strict-Transport-Security` options. */
export interface StrictTransportSecurityOptions {
  /**
   * Seconds: a finite number >= 0, rounded down (`null` or a string throws, as in helmet).
   * @default 31536000 (365 days)
   */
  maxAge?: number
  /** @default true */
  includeSubDomains?: boolean
  /** @default false */
  preload?: boolean
}
/** `X-DNS-Prefetch-Control` options. */
export interface XDnsPrefetchControlOptions {
  /** `true` sends `on`. @default false (`off`) */
  allow?: boolean
}
/** `X-Frame-Options` options. */
export interface XFrameOptionsOptions {
  /** Any case; a value that is not a string throws, as in helmet. @default 'sameorigin' */
  action?: 'deny' | 'sameorigin' | 'DENY' | 'SAMEORIGIN'
}
/** `X-Permitted-Cross-Domain-Policies` options. */
export interface XPermittedCrossDomainPoliciesOptions {
  /** @default 'none' */
  permittedPolicies?: 'none' | 'master-only' | 'by-content-type' | 'all'
}

/** An option that is on by default: `false` removes the header, `true` or `{}` keeps the default. */
export type Toggle<T> = boolean | T

function fail(field: string, message: string): never {
  throw new InvalidOptionsError(field, message)
}

/** `undefined` → default, `false` → off, `true` → `{}`, an object → itself; anything else throws. */
export function toggle<T extends object>(
  field: string,
  value: unknown,
  onByDefault: boolean
): T | undefined {
  if (value === undefined) return onByDefault ? ({} as T) : undefined
  if (value === false) return undefined
  if (value === true) return {} as T
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as T
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

export function hstsValue(o: StrictTransportSecurityOptions, field: string): string {
  if ('maxage' in o) fail(`${field}.maxage`, 'is not an option; did you mean `maxAge`?')
  if ('includeSubdomains' in o) {
    fail(`${field}.includeSubdomains`, 'is not an option; did you mean `includeSubDomains`?')
  }
  // Only `undefined` takes the default: `null` is refused, as helmet does.
  const maxAge = o.maxAge === undefined ? 31_536_000 : o.maxAge
  if (typeof maxAge !== 'number' || !(maxAge >= 0) || !Number.isFinite(maxAge)) {
    fail(`${field}.maxAge`, 'must be a finite number >= 0 (seconds)')
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
