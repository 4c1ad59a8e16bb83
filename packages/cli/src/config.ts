/**
 * @module config
 * The schema of `aikit.config.mjs`: a plain object describing how the app configures the kit, so
 * the doctor can check what the environment alone cannot show (CORS, rate limits, budgets...).
 * Section names are strict (a typo such as `ratelimit` is reported). Each section takes the options
 * of a kit factory (`cors()`, `rateLimit()`, `createBudget()`, `createCache()`, `initSentry()`,
 * `metricsHandler()`), so the app may export the very options it passes to the kit; every factory
 * refuses keys it does not know, and so does the doctor, naming the field. The `rateLimit` and
 * `budget` sections and their limit lists are checked as the kit checks them at startup
 * (`limits-schema.ts`); the others only as far as the checks read them.
 */
import { LOG_LEVELS } from '@aikit/core/env'
import { z } from 'zod'
import { firstUnknownKey, withKnownKeys } from './known-keys.js'
import { budgetLimits, rateLimitLimits, rateLimitTiers } from './limits-schema.js'

const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v === 'function'
const fn = z.custom<(...args: never[]) => unknown>(isFunction, { error: 'expected a function' })

/** A real `Store`, as the kit recognises one (it has `run`). */
export interface StoreLike {
  readonly kind?: unknown
  run(...args: never[]): unknown
}

const isStore = (v: unknown): v is StoreLike =>
  typeof v === 'object' && v !== null && typeof (v as { run?: unknown }).run === 'function'

/** `'memory'` / `'redis'` (the doctor's shorthand), or a real `Store` (its `kind` is read). */
const store = z.union([z.enum(['memory', 'redis']), z.custom<StoreLike>(isStore)], {
  error: "expected 'memory', 'redis' or a Store",
})

const originItem = z.union([z.string(), z.instanceof(RegExp)], {
  error: 'expected a string or a RegExp',
})

/** The keys `cors()` takes (`@aikit/security`'s `CorsOptions`); it refuses any other. */
export const CORS_KEYS = [
  'origin',
  'credentials',
  'methods',
  'allowedHeaders',
  'exposedHeaders',
  'maxAge',
] as const

const cors = z.union(
  [
    z.literal(false),
    withKnownKeys(
      z.looseObject({
        // `cors()` refuses an empty list: it would allow no origin, surely not what was meant.
        origin: z.union([z.literal(true), originItem, z.array(originItem).min(1), fn], {
          error: 'expected true, an origin, a list of origins or a function',
        }),
        credentials: z.boolean().optional(),
      }),
      CORS_KEYS
    ),
  ],
  { error: 'expected false or { origin, credentials? }' }
)

/**
 * The keys `rateLimit()` takes (`@aikit/ratelimit`'s middleware, limiter and tier options); it
 * refuses any other. The drift guard test holds this list to the kit's option types.
 */
export const RATE_LIMIT_KEYS = [
  'keyBy',
  'cost',
  'headers',
  'dryRun',
  'ipv6Prefix',
  'unkeyed',
  'limiter',
  'store',
  'limits',
  'prefix',
  'onStoreError',
  'blockCache',
  'tiers',
  'tier',
  'defaultTier',
] as const

const isLimiter = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as { check?: unknown }).check === 'function'

/** The `createRateLimiter` options `rateLimit` hands on; a ready `limiter` keeps its own. */
const LIMITER_OPTION_KEYS = ['store', 'prefix', 'onStoreError', 'blockCache'] as const

/**
 * An option `rateLimit` does not read the way the limiter is given, which it refuses rather than
 * drop (a `store` beside a ready `limiter` would leave limits per process while the app believes
 * them shared). `undefined` counts as not given. `limits` beside `limiter` is the other refinement's.
 */
function unreadOption(
  options: Record<string, unknown>
): { key: string; reason: string } | undefined {
  const given = (key: string): boolean => options[key] !== undefined
  if (given('keyBy') && given('ipv6Prefix')) {
    return { key: 'ipv6Prefix', reason: 'is not read beside `keyBy`: group IPv6 addresses there' }
  }
  if (given('tiers')) {
    const key = ['limiter', 'limits'].find(given)
    return key === undefined
      ? undefined
      : { key, reason: 'is not read beside `tiers` (each tier has its own limits)' }
  }
  const tierKey = ['tier', 'defaultTier'].find(given)
  if (tierKey !== undefined) return { key: tierKey, reason: 'is only read with `tiers`' }
  if (!given('limiter')) return undefined
  const key = LIMITER_OPTION_KEYS.find(given)
  return key === undefined
    ? undefined
    : { key, reason: 'is not read beside a ready `limiter`: give it to createRateLimiter' }
}

const rateLimit = z.union(
  [
    z.literal(false),
    withKnownKeys(
      z
        .looseObject({
          limits: rateLimitLimits.optional(),
          tiers: rateLimitTiers.optional(),
          limiter: z
            .custom(isLimiter, {
              abort: false,
              error: 'expected a RateLimiter (createRateLimiter(...))',
            })
            .optional(),
          store: store.optional(),
          dryRun: z.boolean().optional(),
        })
        // Without `tiers` or `limiter`, `rateLimit` hands the options to `createRateLimiter`,
        // which names `limits`.
        .refine((v) => v.limits !== undefined || v.tiers !== undefined || v.limiter !== undefined, {
          path: ['limits'],
          error: 'needs `limits`, `tiers` or `limiter`',
        })
        // Without `tiers`, `rateLimit` refuses `limiter` beside `limits`.
        .refine((v) => v.tiers !== undefined || v.limiter === undefined || v.limits === undefined, {
          path: ['limiter'],
          error: 'pass either `limiter` or `limits`, not both',
        })
        // `rateLimit` checks this before the limits: even when they are invalid.
        .superRefine(
          (v, ctx) => {
            if (typeof v !== 'object' || v === null) return
            const unread = unreadOption(v)
            if (unread) ctx.addIssue({ code: 'custom', path: [unread.key], message: unread.reason })
          },
          { when: () => true }
        ),
      RATE_LIMIT_KEYS
    ),
  ],
  { error: 'expected false or { limits | tiers | limiter, store? }' }
)

/** The keys `createBudget()` takes (`@aikit/cost`'s `BudgetOptions`); it refuses any other. */
export const BUDGET_KEYS = [
  'store',
  'limits',
  'mode',
  'timeZone',
  'reservationTtl',
  'tombstoneTtl',
  'warnAt',
  'prices',
  'prefix',
  'retainPeriods',
  'now',
] as const

const budget = z.union(
  [
    z.literal(false),
    withKnownKeys(
      z.looseObject({
        limits: z.union([budgetLimits, fn], {
          error: 'expected a list of { period, usd | micros, window? } or a function',
        }),
        // `createBudget` reads `store ?? memoryStore()` and `mode ?? 'hard'`: null is the default.
        store: store.nullish(),
        mode: z.enum(['hard', 'soft']).nullish(),
      }),
      BUDGET_KEYS
    ),
  ],
  { error: 'expected false or { limits, store?, mode? }' }
)

/** The keys `createCache()` takes (`@aikit/cache`'s `CacheOptions`); it refuses any other. */
export const CACHE_KEYS = [
  'store',
  'memory',
  'ttl',
  'staleWhileRevalidate',
  'staleIfError',
  'timeouts',
  'jitter',
  'namespace',
  'serializer',
  'compression',
  'lockTtl',
  'lockMaxHold',
  'pollInterval',
  'bus',
  'now',
] as const
/** The keys of `createCache`'s `memory`, `timeouts` and `compression` objects. */
export const CACHE_MEMORY_KEYS = ['maxEntries', 'maxBytes'] as const
export const CACHE_TIMEOUT_KEYS = ['soft', 'hard'] as const
export const CACHE_COMPRESSION_KEYS = ['threshold'] as const

/** A nested options object `createCache` reads with `?? {}` (null too) and checks the keys of. */
const cacheObject = (known: readonly string[]) => withKnownKeys(z.looseObject({}), known).nullish()

const cache = z.union(
  [
    z.literal(false),
    withKnownKeys(
      z.looseObject({
        store: store.optional(),
        memory: cacheObject(CACHE_MEMORY_KEYS),
        timeouts: cacheObject(CACHE_TIMEOUT_KEYS),
        // `createCache` reads `compression ?? false`.
        compression: z
          .union([z.literal(false), withKnownKeys(z.looseObject({}), CACHE_COMPRESSION_KEYS)], {
            error: 'expected false or { threshold? }',
          })
          .nullish(),
      }),
      CACHE_KEYS
    ),
  ],
  { error: 'expected false or { store?, ... } (the createCache() options)' }
)

/**
 * The keys `initSentry()` takes (`@aikit/observability/sentry`'s `SentryOptions`); it refuses any
 * other. `sentryOptions` is Sentry's own and goes to `Sentry.init` unchecked, here too.
 */
export const SENTRY_KEYS = [
  'dsn',
  'environment',
  'release',
  'tracesSampleRate',
  'allowRequestBodies',
  'allowGenAiContent',
  'redact',
  'sourceContext',
  'sentryOptions',
  'sentry',
] as const

/** A DSN as `initSentry` accepts one: `https://<key>@<host>/<project>` (http too). */
const SENTRY_DSN = /^https?:\/\/[^@/]+@/

const sentry = z.union(
  [
    z.literal(false),
    withKnownKeys(
      z.looseObject({
        // '' is no DSN, as initSentry() takes it (docker-compose's `${SENTRY_DSN:-}`).
        dsn: z
          .union([
            z.literal(''),
            z.string().regex(SENTRY_DSN, {
              error: 'expected a Sentry DSN (https://<key>@<host>/<project>)',
            }),
          ])
          .optional(),
      }),
      SENTRY_KEYS
    ),
  ],
  { error: 'expected false or { dsn?, ... } (the initSentry() options)' }
)

/** The keys `metricsHandler()` takes (`@aikit/observability`'s `MetricsHandlerOptions`). */
export const METRICS_KEYS = ['path', 'token'] as const

/** `metricsHandler` refuses a shorter token. */
export const MIN_METRICS_TOKEN_LENGTH = 16
/** `metricsHandler` refuses a token a scraper could not send: visible ASCII, spaces inside only. */
export const SENDABLE_METRICS_TOKEN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

const metrics = z.union(
  [
    z.boolean(),
    withKnownKeys(
      z.looseObject({
        // `null`: the handler answers wherever it is mounted.
        path: z
          .string()
          .startsWith('/', { error: "expected a path starting with '/'" })
          .nullable()
          .optional(),
        token: z
          .string()
          .min(MIN_METRICS_TOKEN_LENGTH, {
            error: `expected at least ${MIN_METRICS_TOKEN_LENGTH} characters`,
          })
          .regex(SENDABLE_METRICS_TOKEN, {
            error: 'expected visible ASCII with no leading or trailing space',
          })
          .optional(),
      }),
      METRICS_KEYS
    ),
  ],
  { error: 'expected a boolean or { path?, token? } (the metricsHandler() options)' }
)

const trustProxy = z.union(
  [z.boolean(), z.number().int().min(0), z.string(), z.array(z.string())],
  { error: 'expected false, a hop count, or CIDRs' }
)

/**
 * The kit configuration `aikit doctor --config` reads. Every field is optional; a section set to
 * `false` says "deliberately off".
 */
export const doctorConfigSchema = z.strictObject({
  /** The `cors()` options, or `false` (no CORS: same-origin only). Default: `CORS_ORIGIN`. */
  cors: cors.optional(),
  /**
   * The `rateLimit()` options (`store` as `'memory' | 'redis'` or the Store), or `false`. `limits`
   * and `tiers` are checked as `createRateLimiter` / `rateLimit` check them. No `store`: the
   * default `memoryStore()`.
   */
  rateLimit: rateLimit.optional(),
  /**
   * The `createBudget()` options, or `false`. `limits` is checked as `createBudget` checks it
   * (`usd` or `micros`; `window` for `period: 'rolling'` only). No `store`: the default `memoryStore()`.
   */
  budget: budget.optional(),
  /**
   * The `createCache()` options (`store` is read; none: memory tier only; the keys of `memory`,
   * `timeouts` and `compression` are checked), or `false`.
   */
  cache: cache.optional(),
  /** The logger's level. Default: `LOG_LEVEL`, else `'info'`. */
  logLevel: z.enum(LOG_LEVELS).optional(),
  /**
   * The `initSentry()` options (`dsn` is read), or `false` when errors are tracked by something
   * else. Default: `SENTRY_DSN`.
   */
  sentry: sentry.optional(),
  /**
   * Whether the app serves `/metrics`: a boolean, or the `metricsHandler()` options. Default: `true`.
   */
  metrics: metrics.optional(),
  /**
   * The adapters' `trustProxy`, as the app passes it: a string is read as addresses (`'2'` and
   * `'false'` are not a count or a switch). Default: `TRUST_PROXY` as `aikitEnv` parses it, else `false`.
   */
  trustProxy: trustProxy.optional(),
  /** How many instances (processes, pods) serve the app. Default: `1`. */
  instances: z.number().int().min(1).optional(),
  /** Names the bundler ships to the browser. Default: `['NEXT_PUBLIC_']`. */
  publicPrefixes: z.array(z.string().min(1)).optional(),
  /** Public variables allowed to hold a random-looking value. Default: `[]`. */
  allowPublic: z.array(z.string().min(1)).optional(),
})

const TOP_LEVEL_KEYS: readonly string[] = Object.keys(doctorConfigSchema.shape)

/** A valid kit configuration. */
export type DoctorConfig = z.output<typeof doctorConfigSchema>

/** The configuration split into its valid part and its problems. */
export interface ParsedConfig {
  readonly config: DoctorConfig
  readonly invalidFields: ReadonlySet<string>
  readonly problems: readonly string[]
}

/**
 * Validates `raw` against `doctorConfigSchema`. Each problem names its field
 * (`cors.credentials: expected boolean`); the fields that are wrong are dropped, so the other
 * checks still run on the rest.
 */
export function parseConfig(raw: unknown): ParsedConfig {
  if (raw === undefined) return { config: {}, invalidFields: new Set(), problems: [] }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { config: {}, invalidFields: new Set(), problems: ['(root): expected an object'] }
  }
  const first = doctorConfigSchema.safeParse(raw)
  if (first.success) return { config: first.data, invalidFields: new Set(), problems: [] }

  const invalidFields = new Set<string>()
  const problems: string[] = []
  for (const issue of first.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const reason = firstUnknownKey({ [key]: true }, TOP_LEVEL_KEYS)?.reason ?? 'unknown field'
        problems.push(`${key}: ${reason}`)
      }
      continue
    }
    const top = issue.path[0]
    if (top !== undefined) invalidFields.add(String(top))
    for (const { path, reason } of flatten(issue, [])) {
      problems.push(`${path.map(String).join('.') || '(root)'}: ${reason}`)
    }
  }
  const known = new Set(TOP_LEVEL_KEYS)
  const rest = Object.fromEntries(
    Object.entries(raw).filter(([k]) => known.has(k) && !invalidFields.has(k))
  )
  const second = doctorConfigSchema.safeParse(rest)
  return { config: second.success ? second.data : {}, invalidFields, problems }
}

type Issue = z.core.$ZodIssue
type Path = readonly PropertyKey[]

/** A union's own message is vague; the branch whose type matched says what is wrong inside it. */
function flatten(issue: Issue, prefix: Path): { path: Path; reason: string }[] {
  const path = [...prefix, ...issue.path]
  if (issue.code === 'invalid_union') {
    // A branch failing at its root is a branch of another type; the one that failed deeper is
    // the one the value was meant for.
    const typeMismatch = (e: Issue): boolean =>
      e.path.length === 0 &&
      (e.code === 'invalid_type' ||
        e.code === 'invalid_value' ||
        e.code === 'custom' ||
        (e.code === 'invalid_union' && e.errors.every((errs) => errs.every(typeMismatch))))
    const branch = issue.errors.find((errs) => errs.length > 0 && !errs.every(typeMismatch))
    if (branch !== undefined) return branch.flatMap((e) => flatten(e, path))
  }
  return [{ path, reason: describe(issue) }]
}

/** The reason of one issue, never quoting the value that failed. */
function describe(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'too_small':
      return `too small (minimum ${String(issue.minimum)})`
    case 'too_big':
      return `too big (maximum ${String(issue.maximum)})`
    case 'invalid_format':
      return `expected a valid ${issue.format}`
    default:
      return issue.message
  }
}
