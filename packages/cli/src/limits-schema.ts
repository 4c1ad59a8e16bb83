/**
 * @module limits-schema
 * The limit lists of the `rateLimit` and `budget` sections, checked as the kit checks them at
 * startup (`@aikit/ratelimit`'s `createRateLimiter` / `rateLimit`, `@aikit/cost`'s
 * `createBudget`), so a configuration the kit refuses fails the doctor too. The CLI does not
 * depend on those packages: these rules mirror theirs, and `test/limits-drift.test.ts` runs both on
 * the same inputs so they cannot drift apart unnoticed.
 */
import { z } from 'zod'
import { withKnownKeys } from './known-keys.js'

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION = /^([1-9][0-9]*)(ms|s|m|h|d)$/

/**
 * A window or duration in milliseconds, as the kit reads it (ratelimit's `parseWindow`, cost's
 * `parseDuration`): a positive safe integer of milliseconds, or a positive integer followed by
 * one unit (`'500ms'`, `'10s'`, `'1m'`, `'1h'`, `'1d'`). Undefined for anything else.
 */
export function durationMs(value: unknown): number | undefined {
  let ms: number | undefined
  if (typeof value === 'number') ms = value
  else if (typeof value === 'string') {
    const match = DURATION.exec(value)
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  }
  return ms !== undefined && Number.isSafeInteger(ms) && ms > 0 ? ms : undefined
}

// `abort: false`: a bad window must not hide an unknown key beside it (see `withKnownKeys`).
const duration = z.custom<number | string>((v) => durationMs(v) !== undefined, {
  abort: false,
  error:
    "expected a positive integer of milliseconds or a duration such as '500ms', '10s', '1m', '1h', '1d'",
})

/**
 * The kit reads a list entry with `typeof entry === 'object'` and its fields by name, so an array
 * entry is an object with keys `0`, `1`...: read it the same way, for the same verdict and field.
 */
const asObject = (value: unknown): unknown => (Array.isArray(value) ? { ...value } : value)

/** The algorithms `createRateLimiter` implements (`@aikit/ratelimit`'s `ALGORITHMS`). */
const ALGORITHMS = ['gcra', 'fixed-window', 'sliding-window', 'token-bucket'] as const

/** `createRateLimiter` keeps `limit × window (ms)` at most 2^52 so its arithmetic stays exact. */
const MAX_LIMIT_TIMES_WINDOW = 2 ** 52

/** The keys of a limit (`LimitOptions`): `createRateLimiter` refuses any other. */
export const LIMIT_KEYS = ['algorithm', 'limit', 'window'] as const

const rateLimitLimit = z.preprocess(
  asObject,
  withKnownKeys(
    z
      .looseObject({
        // `createRateLimiter` reads `algorithm ?? 'gcra'`: null is the default too.
        algorithm: z.enum(ALGORITHMS).nullish(),
        limit: z.number().int().positive(),
        window: duration,
      })
      .refine((l) => l.limit * (durationMs(l.window) ?? 0) <= MAX_LIMIT_TIMES_WINDOW, {
        path: ['limit'],
        error: 'limit × window (ms) must be at most 2^52',
      }),
    LIMIT_KEYS
  )
)

/** A non-empty list of `{ algorithm?, limit, window }`, no limit given twice. */
export const rateLimitLimits = z
  .array(rateLimitLimit)
  .min(1)
  .superRefine((limits, ctx) => {
    const seen = new Set<string>()
    limits.forEach((l, i) => {
      const id = `${l.algorithm ?? 'gcra'}:${l.limit}:${durationMs(l.window)}`
      if (seen.has(id))
        ctx.addIssue({ code: 'custom', path: [i], message: 'duplicates an earlier limit' })
      seen.add(id)
    })
  })

/**
 * `rateLimit`'s `tiers`: an object (an array is refused, as `rateLimit` refuses it: tiers are
 * named), at least one tier, names non-empty and without `{` or `}`.
 */
export const rateLimitTiers = z
  .custom<unknown>((value) => !Array.isArray(value), {
    error: 'must be an object of tier name → limits, not an array',
    abort: true,
  })
  .pipe(
    z.record(z.string(), rateLimitLimits).superRefine((tiers, ctx) => {
      const names = Object.keys(tiers)
      if (names.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'needs at least one tier (no tier: no limit at all)',
        })
      }
      for (const name of names) {
        if (name === '' || /[{}]/.test(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'tier names must be non-empty, without { or }',
          })
        }
      }
    })
  )

/** `createBudget` refuses a limit above 2^50 micro-dollars. */
const MAX_MICROS = 2 ** 50

/** Whether `value` gives both `usd` and `micros` (null counts as given, as `createBudget` reads it). */
const givesBoth = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  (value as { usd?: unknown }).usd !== undefined &&
  (value as { micros?: unknown }).micros !== undefined

/** The keys of a budget limit (`BudgetLimitOptions`): `createBudget` refuses any other. */
export const BUDGET_LIMIT_KEYS = ['period', 'window', 'usd', 'micros'] as const

const budgetLimit = z.preprocess(
  asObject,
  withKnownKeys(
    z
      .looseObject({
        period: z.enum(['day', 'month', 'rolling']),
        window: duration.optional(),
        usd: z.number().nonnegative().optional(),
        micros: z.number().int().nonnegative().optional(),
      })
      // `createBudget` checks this before the types of `usd` and `micros`: even when one is invalid.
      .superRefine(
        (l, ctx) => {
          if (givesBoth(l)) {
            ctx.addIssue({ code: 'custom', message: 'give `usd` or `micros`, not both' })
          }
        },
        { when: () => true }
      )
      .superRefine((l, ctx) => {
        if (l.usd === undefined && l.micros === undefined) {
          ctx.addIssue({ code: 'custom', path: ['usd'], message: 'is required (or `micros`)' })
        } else if (!givesBoth(l) && (l.micros ?? Math.round((l.usd ?? 0) * 1e6)) > MAX_MICROS) {
          ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_MICROS} micro-dollars` })
        }
        if (l.period === 'rolling' && l.window === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['window'],
            message: "is required for period 'rolling'",
          })
        } else if (l.period !== 'rolling' && l.window !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['window'],
            message: "is only for period 'rolling'",
          })
        }
      }),
    BUDGET_LIMIT_KEYS
  )
)

/**
 * A list of `{ period, usd | micros, window? }`, no period given twice. Empty is allowed, as
 * `createBudget` allows it. `usd`, `micros` and `window` may be left out but not `null`:
 * `createBudget` refuses null for each.
 */
export const budgetLimits = z.array(budgetLimit).superRefine((limits, ctx) => {
  const seen = new Set<string>()
  limits.forEach((l, i) => {
    const name = l.period === 'rolling' ? `rolling:${durationMs(l.window)}` : l.period
    if (seen.has(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `duplicates an earlier ${l.period} limit`,
      })
    }
    seen.add(name)
  })
})
