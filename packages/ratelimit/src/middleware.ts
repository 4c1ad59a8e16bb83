/**
 * @module middleware
 * `rateLimit(options)`: a middleware that checks every request against a `RateLimiter`, sets the
 * IETF draft `RateLimit` / `RateLimit-Policy` headers (and/or legacy `X-RateLimit-*`), and answers
 * 429 `RATE_LIMITED` with `Retry-After` when a limit is exceeded.
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import { emitProcessWarning, rejectUnknownOptions } from '@aikit/core/adapter'
import type { CheckResult } from './check-op.js'
import { describe } from './duration.js'
import { RateLimitedError, UnidentifiedClientError } from './errors.js'
import { ipKey } from './ip-key.js'
import {
  createRateLimiter,
  type LimitOptions,
  RATE_LIMITER_OPTION_KEYS,
  type RateLimiter,
  type RateLimiterOptions,
  validateSharedOptions,
} from './limiter.js'
import './state.js'

/** Which rate-limit headers to send. */
export type RateLimitHeaders = 'draft' | 'legacy' | 'both' | false

/**
 * What happens to a request no key could be found for (see `RateLimitMiddlewareOptions.unkeyed`):
 * `'allow'` passes it through unchecked, `'reject'` answers 403 `UNIDENTIFIED_CLIENT`, and
 * `{ key }` checks it against that one bucket, shared by every unidentified request.
 */
export type UnkeyedPolicy = 'allow' | 'reject' | { readonly key: string }

/** The warning `process.emitWarning` gets (once per middleware) for unchecked unkeyed requests. */
const UNKEYED_WARNING_CODE = 'AIKIT_RATELIMIT_UNKEYED'

/** Counters of a `rateLimit` middleware since it was created (for metrics). */
export interface RateLimitMiddlewareStats {
  /** Requests checked against the limiter (a shared `unkeyed` bucket included). */
  readonly checked: number
  /**
   * Requests no key was found for (the default key found neither `ctx.state.subject` nor
   * `ctx.ip`, or `keyBy` returned `undefined` / `''`), whatever `unkeyed` then did with them.
   */
  readonly unkeyed: number
}

/** The middleware `rateLimit` returns: a `Middleware` with its counters. */
export interface RateLimitMiddleware extends Middleware {
  /** Counters since creation (see `RateLimitMiddlewareStats`). */
  stats(): RateLimitMiddlewareStats
}

/** Options of `rateLimit` besides the limiter itself. */
export interface RateLimitMiddlewareOptions {
  /**
   * The bucket a request counts against; `undefined` (or `''`) lets the request through unchecked.
   * Default: `ctx.state.subject` when set (`sub:<subject>`), else the client IP `ctx.ip`
   * (`ip:<address>`, IPv6 grouped by `ipv6Prefix`, an IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated
   * `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d` (`::1` excepted), NAT64/SIIT `64:ff9b::a.b.c.d`,
   * 6to4 or Teredo address keyed as its IPv4 client's address `a.b.c.d`); when neither is known
   * the request passes
   * through unchecked rather than sharing one bucket with every other unknown client.
   * `ctx.ip` honours the adapter's `trustProxy` setting only: `X-Forwarded-For` is ignored unless
   * a proxy is trusted.
   */
  keyBy?: (ctx: Context) => string | undefined | Promise<string | undefined>
  /** Units a request consumes (integer ≥ 0), or a function of the request. Default `1`. */
  cost?: number | ((ctx: Context) => number | Promise<number>)
  /**
   * Headers to send on every checked request: `'draft'` (default: `RateLimit-Policy` and
   * `RateLimit`, IETF draft-ietf-httpapi-ratelimit-headers-09 structured fields), `'legacy'`
   * (`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`), `'both'` or `false`.
   * `Retry-After` is always sent on a 429 when a retry can succeed.
   */
  headers?: RateLimitHeaders
  /**
   * Shadow mode: check (and consume) as usual, set the headers and `ctx.state.rateLimit`, but never
   * deny. Default `false`.
   */
  dryRun?: boolean
  /**
   * Prefix length (1–128) IPv6 client addresses are grouped by in the default key. Default `56`.
   * Refused beside `keyBy`, which does not read it.
   */
  ipv6Prefix?: number
  /**
   * What to do with a request no key was found for (the default key knows neither
   * `ctx.state.subject` nor `ctx.ip` — e.g. on Next.js without `trustProxy`, where `ctx.ip` is
   * `undefined` —, or `keyBy` returned `undefined` / `''`). Every such request is counted in
   * `stats().unkeyed`.
   * - `'allow'`: pass it through unchecked (no headers, no `ctx.state.rateLimit`).
   * - `'reject'`: answer 403 with the JSON error `UNIDENTIFIED_CLIENT` (fail closed).
   * - `{ key: 'anonymous' }`: check it against that one bucket, shared by every unidentified client
   *   (so they are throttled together). The key must be a non-empty string.
   *
   * Default: `'allow'`, plus a one-time process warning (`AIKIT_RATELIMIT_UNKEYED`, where
   * `process.emitWarning` exists) when the default key finds nothing, since that usually means
   * the client IP is unknown and nothing is being limited. Setting `unkeyed: 'allow'` explicitly
   * silences it.
   */
  unkeyed?: UnkeyedPolicy
}

/** The keys of `RateLimitMiddlewareOptions`. */
const MIDDLEWARE_OPTION_KEYS = [
  'keyBy',
  'cost',
  'headers',
  'dryRun',
  'ipv6Prefix',
  'unkeyed',
] as const satisfies readonly (keyof RateLimitMiddlewareOptions)[]

/** The keys of the `{ key }` form of `unkeyed`. */
const UNKEYED_OPTION_KEYS = ['key'] as const satisfies readonly (keyof Exclude<
  UnkeyedPolicy,
  string
>)[]

/**
 * Per-user tiers resolved at request time: one set of limits per tier name, sharing the store and
 * the other limiter options. Each tier counts in its own key space (`<prefix>:<tier>`), so a user
 * moving to another tier starts that tier's limits fresh.
 */
export interface RateLimitTierOptions extends Omit<RateLimiterOptions, 'limits'> {
  /** The limits of each tier, e.g. `{ free: [{ limit: 10, window: '1m' }], pro: [...] }`. */
  tiers: Readonly<Record<string, readonly LimitOptions[]>>
  /**
   * The request's tier name (e.g. from `ctx.state.user.plan`). `undefined` or a name not in `tiers`
   * uses `defaultTier`.
   */
  tier: (ctx: Context) => string | undefined | Promise<string | undefined>
  /** The tier used when `tier(ctx)` gives none or an unknown one. Default: the first in `tiers`. */
  defaultTier?: string
  limiter?: undefined
  limits?: undefined
}

/** The keys `RateLimitTierOptions` adds to the limiter's. */
const TIER_OPTION_KEYS = [
  'tiers',
  'tier',
  'defaultTier',
] as const satisfies readonly (keyof RateLimitTierOptions)[]

/**
 * Every key `rateLimit` takes, whichever way the limiter is given (`limiter`, its options, or
 * `tiers`): anything else is refused.
 */
const RATE_LIMIT_OPTION_KEYS: readonly string[] = [
  ...MIDDLEWARE_OPTION_KEYS,
  'limiter',
  ...RATE_LIMITER_OPTION_KEYS,
  ...TIER_OPTION_KEYS,
]

/**
 * Options of `rateLimit`: an existing `limiter`, the options to create one, or per-user `tiers`;
 * plus the middleware options.
 */
export type RateLimitOptions = RateLimitMiddlewareOptions &
  DefaultKeyOrKeyBy &
  (
    | ({ limiter: RateLimiter; tiers?: undefined } & Unread<
        (typeof RATE_LIMITER_OPTION_KEYS)[number] | 'tier' | 'defaultTier'
      >)
    | (RateLimiterOptions & { limiter?: undefined; tiers?: undefined } & Unread<
          'tier' | 'defaultTier'
        >)
    | RateLimitTierOptions
  )

/**
 * `ipv6Prefix` only groups the default key's addresses: beside a `keyBy` it is refused at runtime,
 * and here, so that the mix does not compile either.
 */
type DefaultKeyOrKeyBy = { keyBy?: undefined } | { ipv6Prefix?: undefined }

/** Keys a mode does not read: typed `undefined` so that giving one does not compile either. */
type Unread<K extends string> = { [P in K]?: undefined }

/** A limiter with its precomputed header values. */
interface Policy {
  limiter: RateLimiter
  names: readonly string[]
  header: string
  /**
   * Its key prefix (`rl`, `rl:pro` for a tier), to name its policies when an earlier `rateLimit`
   * on the request took these names; `undefined` for a ready `limiter` (its prefix is not known).
   */
  label: string | undefined
}

/** What one `rateLimit` middleware reported on a request (one object: the hot path's only one). */
interface Report {
  /** The middleware (one that runs again on the request replaces its own report). */
  readonly self: object
  /** The policy names it used, fixed at its first report on the request. */
  readonly names: readonly string[]
  /** Its draft `RateLimit-Policy` / `RateLimit` members (`undefined`: draft headers not sent). */
  readonly policy: string | undefined
  readonly limits: string | undefined
  /**
   * Its tightest limit, kept whatever it sends: the legacy headers describe the tightest limit of
   * every middleware on the request, a draft-only one included.
   */
  readonly limit: number
  readonly remaining: number
  readonly reset: number
  /** Whether it sends the legacy `X-RateLimit-*` headers. */
  readonly legacy: boolean
}

/**
 * The reports of the `rateLimit` middleware that ran on a request, in chain order, kept in
 * `ctx.state` under a symbol (not enumerated: logs of the state do not show it): one report, or a
 * list once a second middleware runs. With several in one chain (a per-client limit, then a
 * per-API-key one) each rebuilds the headers from all of them, where a plain `setHeader` would
 * drop the earlier limits (and the client, told requests remain, would meet a 429 from the first).
 */
const REPORTS = Symbol('@aikit/ratelimit.reports')
type ReportHolder = { [REPORTS]?: Report | Report[] }

const HEADER_MODES: readonly RateLimitHeaders[] = ['draft', 'legacy', 'both', false]

/**
 * Creates the rate-limit middleware. Options are validated here: a mistake throws
 * `InvalidOptionsError` naming the field (`limiter`, `keyBy`, `cost`, `headers`, `dryRun`,
 * `ipv6Prefix`, `unkeyed`, `unkeyed.key`, `tiers`, `tier`, `defaultTier`, or a `createRateLimiter`
 * field such as `prefix` or `limits[0].limit` — `tiers.pro.limits[0].limit` for a tier's limits;
 * the options tiers share, such as `prefix` or `onStoreError`, keep their own names), an unknown
 * key included (`keyby`, `unkeyed.kye`, `tiers.pro.limits[0].windw`), and an option the way the
 * limiter is given would not read (`store` beside `limiter`, `limits` beside `tiers`, `tier`
 * without `tiers`, `ipv6Prefix` beside `keyBy`).
 *
 * Per request: resolves the key (no key → the `unkeyed` option), checks `cost` against the
 * limiter, stores the result on `ctx.state.rateLimit` and sets the headers. When denied (and not `dryRun`) it ends the
 * request with 429 and the JSON body `{ error: { code: 'RATE_LIMITED', message: 'Too many requests',
 * details: { retryAfterMs } } }` plus `Retry-After` (delta-seconds, rounded up, at least 1). When the
 * cost can never pass (`retryAfterMs: -1`, the cost exceeds a limit) it still answers 429, without
 * `Retry-After`, and `details.retryAfterMs` is `-1`. Degraded results (store unavailable, see
 * `onStoreError`) are handled like any other; with `'closed'` the store error (503) propagates.
 *
 * Draft headers name each limit's policy `"default"` when there is one limit, else `"p0"`, `"p1"`…
 * in the limiter's order; `w` is the window in seconds (rounded up), `r` the remaining units and
 * `t` the seconds until that limit is fully replenished (rounded up). `X-RateLimit-*` describe the
 * tightest limit; `X-RateLimit-Reset` is the reset time in epoch seconds (rounded up). Several
 * `rateLimit` middlewares on one request add to the headers instead of replacing them: the draft
 * lists hold every middleware's members in chain order, a later one whose names are taken using
 * its `prefix` (`"rl2"`, `"rl2-p0"`…; with its position when that is taken too, `"rl-2"`, and
 * `"limit-2"` for a ready `limiter`), and `X-RateLimit-*` (sent when any of them sends them)
 * describe the tightest limit of them all, a draft-only middleware's included.
 */
export function rateLimit(options: RateLimitOptions): RateLimitMiddleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, RATE_LIMIT_OPTION_KEYS)
  rejectUnreadOptions(options)
  const pickPolicy = resolvePolicies(options)
  const { keyBy, cost = 1, headers = 'draft', dryRun = false, ipv6Prefix = 56 } = options
  if (keyBy !== undefined && typeof keyBy !== 'function') {
    throw new InvalidOptionsError('keyBy', 'must be a function (ctx) => string | undefined')
  }
  if (typeof cost !== 'function' && (!Number.isSafeInteger(cost) || cost < 0)) {
    throw new InvalidOptionsError(
      'cost',
      `must be an integer >= 0 or a function; got ${describe(cost)}`
    )
  }
  if (!HEADER_MODES.includes(headers)) {
    throw new InvalidOptionsError(
      'headers',
      `must be 'draft', 'legacy', 'both' or false; got ${describe(headers)}`
    )
  }
  if (typeof dryRun !== 'boolean') {
    throw new InvalidOptionsError('dryRun', 'must be a boolean')
  }
  if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < 1 || ipv6Prefix > 128) {
    throw new InvalidOptionsError(
      'ipv6Prefix',
      `must be an integer from 1 to 128; got ${describe(ipv6Prefix)}`
    )
  }
  const unkeyed = resolveUnkeyed(options.unkeyed)
  const draft = headers === 'draft' || headers === 'both'
  const legacy = headers === 'legacy' || headers === 'both'
  const resolveKey = keyBy ?? ((ctx: Context) => defaultKey(ctx, ipv6Prefix))
  // Only the silent default is worth a warning: a custom `keyBy` returning nothing, or an explicit
  // `unkeyed`, is a decision.
  let warn = keyBy === undefined && options.unkeyed === undefined
  const counters = { checked: 0, unkeyed: 0 }

  async function rateLimit(ctx: Context, next: () => Promise<void>): Promise<void> {
    let key = await resolveKey(ctx)
    if (key !== undefined && typeof key !== 'string') {
      throw new InvalidOptionsError('keyBy', 'must return a string or undefined')
    }
    if (key === undefined || key === '') {
      counters.unkeyed++
      if (unkeyed === 'reject') {
        const error = new UnidentifiedClientError()
        return ctx.respond(error.status, error.toJSON())
      }
      if (unkeyed === 'allow') {
        if (warn) {
          warn = false
          warnUnkeyed()
        }
        return next()
      }
      key = unkeyed.key
    }
    counters.checked++
    const units = typeof cost === 'function' ? await cost(ctx) : cost
    const policy = await pickPolicy(ctx)
    const { limiter } = policy
    const result = await limiter.check(key, { cost: units })
    ctx.state.rateLimit = result
    // `resetAt` is on the store's clock (Redis's TIME): `t=` is measured on that clock, so a skew
    // between this machine and Redis does not shift it.
    const local = Date.now()
    const now = result.degraded || typeof limiter.now !== 'function' ? local : limiter.now()
    if (draft || legacy) report(ctx, rateLimit, policy, result, now, local, draft, legacy)
    if (result.allowed || dryRun) return next()
    const error = new RateLimitedError(result.retryAfterMs)
    ctx.respond(error.status, error.toJSON(), retryAfterHeader(result))
  }
  return Object.assign(rateLimit, { stats: () => ({ ...counters }) })
}

/**
 * Throws `InvalidOptionsError` naming an option the way the limiter is given does not read (see
 * `RateLimitOptions`), instead of dropping it: a `store` beside a ready `limiter` would leave the
 * limits per process while the app believes them shared. `undefined` counts as not given.
 */
function rejectUnreadOptions(options: RateLimitOptions): void {
  const given = (key: string): boolean =>
    (options as unknown as Record<string, unknown>)[key] !== undefined
  if (given('keyBy') && given('ipv6Prefix')) {
    throw new InvalidOptionsError(
      'ipv6Prefix',
      "only groups the default key's IPv6 addresses and is not read beside `keyBy`: group them in `keyBy`"
    )
  }
  if (given('tiers')) {
    for (const key of ['limiter', 'limits']) {
      if (given(key)) {
        throw new InvalidOptionsError(
          key,
          'is not read beside `tiers` (each tier has its own limits): give `tiers` or it, not both'
        )
      }
    }
    return
  }
  for (const key of ['tier', 'defaultTier']) {
    if (given(key)) throw new InvalidOptionsError(key, 'is only read with `tiers`')
  }
  if (!given('limiter')) return
  for (const key of RATE_LIMITER_OPTION_KEYS) {
    // `limits` beside `limiter` keeps its own message (`resolveLimiter`).
    if (key !== 'limits' && given(key)) {
      throw new InvalidOptionsError(
        key,
        'is not read beside a ready `limiter`, which keeps its own: give it to createRateLimiter'
      )
    }
  }
}

function resolveUnkeyed(option: unknown): UnkeyedPolicy {
  if (option === undefined || option === 'allow' || option === 'reject') return option ?? 'allow'
  if (option === null || typeof option !== 'object') {
    throw new InvalidOptionsError(
      'unkeyed',
      `must be 'allow', 'reject' or { key: string }; got ${describe(option)}`
    )
  }
  rejectUnknownOptions(option, UNKEYED_OPTION_KEYS, 'unkeyed.')
  const { key } = option as { key?: unknown }
  if (typeof key !== 'string' || key === '') {
    throw new InvalidOptionsError('unkeyed.key', `must be a non-empty string; got ${describe(key)}`)
  }
  return Object.freeze({ key })
}

/** Warns through `process.emitWarning` where it exists (not on edge runtimes). */
function warnUnkeyed(): void {
  emitProcessWarning(
    'rateLimit(): a request had no key (no ctx.state.subject and no ctx.ip), so it passed ' +
      'unchecked, and so will every such request. On Next.js ctx.ip is undefined unless the ' +
      "adapter's trustProxy is set. Set trustProxy, a keyBy, or the unkeyed option ('reject', or " +
      "{ key } for one shared bucket); unkeyed: 'allow' keeps this behaviour without this warning.",
    UNKEYED_WARNING_CODE
  )
}

function policyOf(limiter: RateLimiter, label: string | undefined): Policy {
  const names =
    limiter.limits.length === 1 ? ['"default"'] : limiter.limits.map((_, i) => `"p${i}"`)
  const header = policyHeader(limiter, names)
  return { limiter, names, header, label }
}

/** Builds every limiter at construction; returns how a request picks its policy. */
function resolvePolicies(options: RateLimitOptions): (ctx: Context) => Policy | Promise<Policy> {
  if (options.tiers === undefined) {
    const single = policyOf(
      resolveLimiter(options),
      options.limiter === undefined ? (options.prefix ?? 'rl') : undefined
    )
    return () => single
  }
  const { tiers, tier, defaultTier, ...shared } = options as RateLimitTierOptions &
    RateLimitMiddlewareOptions
  if (
    tiers === null ||
    typeof tiers !== 'object' ||
    Array.isArray(tiers) ||
    Object.keys(tiers).length === 0
  ) {
    throw new InvalidOptionsError('tiers', 'must be an object { tierName: limits[] } with a tier')
  }
  if (typeof tier !== 'function') {
    throw new InvalidOptionsError('tier', 'must be a function (ctx) => tier name | undefined')
  }
  // Once, under their own names: only a tier's limits are reported as `tiers.<name>.…`.
  validateSharedOptions(shared)
  const byName = new Map<string, Policy>()
  const prefix = shared.prefix ?? 'rl'
  for (const [name, limits] of Object.entries(tiers)) {
    if (name === '' || /[{}]/.test(name)) {
      throw new InvalidOptionsError(`tiers.${name}`, 'tier names must be non-empty, without { or }')
    }
    try {
      byName.set(
        name,
        policyOf(
          createRateLimiter({
            ...(shared.store === undefined ? {} : { store: shared.store }),
            ...(shared.onStoreError === undefined ? {} : { onStoreError: shared.onStoreError }),
            ...(shared.blockCache === undefined ? {} : { blockCache: shared.blockCache }),
            prefix: `${prefix}:${name}`,
            limits,
          }),
          `${prefix}:${name}`
        )
      )
    } catch (error) {
      if (error instanceof InvalidOptionsError && error.field.startsWith('limits')) {
        // The reason may name a field too (an unknown key's did-you-mean): the tier's path there as well.
        const reason = error.message
          .replace(/^Invalid option `[^`]*`: /, '')
          .replaceAll('`limits', `\`tiers.${name}.limits`)
        throw new InvalidOptionsError(`tiers.${name}.${error.field}`, reason)
      }
      throw error
    }
  }
  const fallbackName = defaultTier ?? (Object.keys(tiers)[0] as string)
  const fallback = byName.get(fallbackName)
  if (fallback === undefined) {
    throw new InvalidOptionsError('defaultTier', `must name one of the tiers; got ${fallbackName}`)
  }
  const pick = (name: unknown): Policy =>
    (typeof name === 'string' ? byName.get(name) : undefined) ?? fallback
  return (ctx) => {
    const name = tier(ctx)
    return name instanceof Promise ? name.then(pick) : pick(name)
  }
}

function resolveLimiter(options: RateLimitOptions): RateLimiter {
  const { limiter } = options
  if (limiter === undefined) return createRateLimiter(limiterOptionsOf(options))
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.check !== 'function') {
    throw new InvalidOptionsError('limiter', 'must be a RateLimiter (createRateLimiter(...))')
  }
  if ('limits' in options && options.limits !== undefined) {
    throw new InvalidOptionsError('limiter', 'pass either `limiter` or `limits`, not both')
  }
  return limiter
}

/** The `createRateLimiter` options among `rateLimit`'s (the middleware's own would be refused). */
function limiterOptionsOf(options: RateLimitOptions): RateLimiterOptions {
  const out: Record<string, unknown> = {}
  const source = options as unknown as Record<string, unknown>
  for (const key of RATE_LIMITER_OPTION_KEYS) if (key in options) out[key] = source[key]
  return out as unknown as RateLimiterOptions
}

/**
 * The largest Integer of a structured header field (RFC 8941 §3.3.1: 15 digits); a parser drops
 * the whole field on a longer one. A limit past it (the options allow up to 2^52 per window) is
 * written as this.
 */
const SF_INTEGER_MAX = 999_999_999_999_999

/** The draft `RateLimit-Policy` members of `limiter`'s limits under `names`. */
function policyHeader(limiter: RateLimiter, names: readonly string[]): string {
  return limiter.limits
    .map(
      (l, i) =>
        `${names[i]};q=${Math.min(l.limit, SF_INTEGER_MAX)};w=${Math.ceil(l.windowMs / 1000)}`
    )
    .join(', ')
}

function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000))
}

/**
 * Records this middleware's result on the request and sets the headers from every `rateLimit`
 * report on it: draft members are listed in chain order (a lone middleware's output is unchanged),
 * the legacy headers, when any report sends them, describe the tightest limit of them all
 * (smallest remaining, first on ties).
 */
function report(
  ctx: Context,
  self: object,
  policy: Policy,
  result: CheckResult,
  now: number,
  local: number,
  draft: boolean,
  legacy: boolean
): void {
  const holder = ctx.state as ReportHolder
  const held = holder[REPORTS]
  if (held === undefined || (!Array.isArray(held) && held.self === self)) {
    // Alone on the request (the common case): its own names, its headers as they always were.
    const entry = reportOf(self, policy.names, policy, result, now, local, draft, legacy)
    holder[REPORTS] = entry
    setHeaders(ctx, entry, entry, draft, legacy)
    return
  }
  const all = Array.isArray(held) ? held : [held]
  const at = all.findIndex((r) => r.self === self)
  // One that runs again on the request keeps its names (unless its tier's limits changed).
  const own = at === -1 ? undefined : all[at]
  const names =
    own !== undefined && own.names.length === policy.names.length
      ? own.names
      : distinctNames(policy, all, self)
  const entry = reportOf(self, names, policy, result, now, local, draft, legacy)
  if (at === -1) all.push(entry)
  else all[at] = entry
  holder[REPORTS] = all
  // Every report counts for the tightest (a later draft-only limit's 429 must not leave an earlier
  // one's `X-RateLimit-Remaining: 8`), and the legacy headers are rewritten whenever any
  // middleware on the request sends them, not only when this one does.
  let tightest = all[0] as Report
  let anyLegacy = false
  for (const r of all) {
    if (r.remaining < tightest.remaining) tightest = r
    if (r.legacy) anyLegacy = true
  }
  const members = all.filter((r) => r.policy !== undefined)
  const merged = {
    policy: members.map((m) => m.policy).join(', '),
    limits: members.map((m) => m.limits).join(', '),
  }
  setHeaders(ctx, merged, tightest, draft, anyLegacy)
}

function reportOf(
  self: object,
  names: readonly string[],
  policy: Policy,
  result: CheckResult,
  now: number,
  local: number,
  draft: boolean,
  legacy: boolean
): Report {
  let limits: string | undefined
  if (draft) {
    limits = ''
    for (let i = 0; i < result.limits.length; i++) {
      const l = result.limits[i] as CheckResult['limits'][number]
      const remaining = Math.min(Math.max(0, l.remaining), SF_INTEGER_MAX)
      limits += `${i === 0 ? '' : ', '}${names[i]};r=${remaining};t=${secondsUntil(l.resetAt, now)}`
    }
  }
  return {
    self,
    names,
    policy: !draft
      ? undefined
      : names === policy.names
        ? policy.header
        : policyHeader(policy.limiter, names),
    limits,
    limit: result.limit,
    remaining: Math.max(0, result.remaining),
    // Epoch seconds for the client to compare with its clock: the wait, from this machine's now.
    reset: Math.ceil((local + Math.max(0, result.resetAt - now)) / 1000),
    legacy,
  }
}

function setHeaders(
  ctx: Context,
  members: { policy: string | undefined; limits: string | undefined },
  tightest: Report,
  draft: boolean,
  legacy: boolean
): void {
  if (draft) {
    ctx.setHeader('RateLimit-Policy', members.policy as string)
    ctx.setHeader('RateLimit', members.limits as string)
  }
  if (legacy) {
    ctx.setHeader('X-RateLimit-Limit', String(tightest.limit))
    ctx.setHeader('X-RateLimit-Remaining', String(tightest.remaining))
    ctx.setHeader('X-RateLimit-Reset', String(tightest.reset))
  }
}

/**
 * The policy's own names (`"default"`, `"p0"`…) unless an earlier report on the request took one;
 * then its key prefix (`"rl2"`, or `"rl2-p0"`… for several limits), then that with the
 * middleware's position (`"rl-2"`), so that every member of the list is distinct.
 */
function distinctNames(
  policy: Policy,
  reported: readonly Report[],
  self: object
): readonly string[] {
  const others = reported.filter((r) => r.self !== self)
  // Only draft members are named on the wire.
  const taken = new Set(others.flatMap((r) => (r.policy === undefined ? [] : r.names)))
  const free = (names: readonly string[]): boolean => names.every((n) => !taken.has(n))
  if (free(policy.names)) return policy.names
  const n = policy.limiter.limits.length
  const named = (base: string): string[] => {
    // An sf-string holds printable ASCII, with `"` and `\` escaped.
    const quoted = `"${base.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '\\$&')}`
    return n === 1 ? [`${quoted}"`] : Array.from({ length: n }, (_, i) => `${quoted}-p${i}"`)
  }
  if (policy.label !== undefined && free(named(policy.label))) return named(policy.label)
  for (let position = others.length + 1; ; position++) {
    const names = named(`${policy.label ?? 'limit'}-${position}`)
    if (free(names)) return names
  }
}

function retryAfterHeader(result: CheckResult): Record<string, string> {
  if (result.retryAfterMs < 0) return {}
  return { 'Retry-After': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) }
}

/** `sub:<subject>`, else the client IP's key (see `ipKey`), else `undefined`. */
function defaultKey(ctx: Context, ipv6Prefix: number): string | undefined {
  const subject = ctx.state.subject
  if (typeof subject === 'string' && subject !== '') return `sub:${subject}`
  const ip = ctx.ip
  if (ip === undefined || ip === '') return undefined
  return ipKey(ip, ipv6Prefix)
}
