/**
 * Drift guard: `limits-schema.ts` mirrors the limit validation of `@aikit/ratelimit`
 * (`createRateLimiter`, `rateLimit`'s `tiers`) and `@aikit/cost` (`createBudget`), which the CLI
 * does not depend on at runtime. Every input below goes through both sides: they must give the same
 * verdict, and when both refuse it the field the kit names must be one the doctor names too. A
 * change on either side that breaks this fails here, not in a user's deploy gate.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { type BudgetLimitOptions, type BudgetOptions, createBudget } from '@aikit/cost'
import {
  createRateLimiter,
  type LimitOptions,
  type RateLimitOptions,
  rateLimit,
} from '@aikit/ratelimit'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import { type BUDGET_KEYS, parseConfig, type RATE_LIMIT_KEYS } from '../src/config.js'
import {
  type BUDGET_LIMIT_KEYS,
  budgetLimits,
  type LIMIT_KEYS,
  rateLimitLimits,
  rateLimitTiers,
} from '../src/limits-schema.js'

/** Every key of any member of a union (`keyof` of a union keeps only the shared ones). */
type KeysOf<T> = T extends unknown ? keyof T : never

// Checked by the type check (tsc), not at run time: the doctor's key lists are exactly the kit's
// option keys, so an option added to the kit is not reported as unknown by the doctor.
describe('drift guard: the known keys are the kit option types', () => {
  it('rateLimit(), its limits, createBudget() and its limits', () => {
    expectTypeOf<(typeof RATE_LIMIT_KEYS)[number]>().toEqualTypeOf<KeysOf<RateLimitOptions>>()
    expectTypeOf<(typeof LIMIT_KEYS)[number]>().toEqualTypeOf<keyof LimitOptions>()
    expectTypeOf<(typeof BUDGET_KEYS)[number]>().toEqualTypeOf<keyof BudgetOptions>()
    expectTypeOf<(typeof BUDGET_LIMIT_KEYS)[number]>().toEqualTypeOf<keyof BudgetLimitOptions>()
  })
})

/** A verdict: accepted, or refused with the fields named, as dotted paths. */
type Verdict = { ok: true } | { ok: false; fields: readonly string[] }

/** The kit's `limits[0].limit` (or `tiers.pro.limits[0].limit`) as the doctor's `0.limit`. */
function kitField(field: string, root: 'limits' | 'tiers'): string {
  let rest = field.slice(root.length).replace(/^\./, '')
  // A tier's limits are `tiers.<name>.limits[…]` in the kit, `<name>.…` in the doctor.
  if (root === 'tiers') rest = rest.replace(/^([^.[]*)\.limits(?=$|[.[])/, '$1')
  return rest.replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '')
}

function kitVerdict(run: () => unknown, root: 'limits' | 'tiers'): Verdict {
  try {
    run()
    return { ok: true }
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    return { ok: false, fields: [kitField(error.field, root)] }
  }
}

function doctorVerdict(schema: z.ZodType, input: unknown): Verdict {
  const result = schema.safeParse(input)
  if (result.success) return { ok: true }
  return { ok: false, fields: result.error.issues.map((i) => i.path.map(String).join('.')) }
}

/** Same verdict; when both refuse, the kit's field is among the doctor's. */
function expectSameVerdict(kit: Verdict, doctor: Verdict): void {
  expect({ ok: doctor.ok }).toEqual({ ok: kit.ok })
  if (!kit.ok && !doctor.ok) expect(doctor.fields).toContain(kit.fields[0])
}

const L = { limit: 60, window: '1m' } as const
const MAX_SAFE = Number.MAX_SAFE_INTEGER

const rateLimitRows: [string, unknown][] = [
  // accepted
  ['one limit', [L]],
  ['a window in ms', [{ limit: 1, window: 1 }]],
  ['every unit', ['500ms', '10s', '1m', '1h', '1d'].map((window) => ({ limit: 1, window }))],
  ...['gcra', 'fixed-window', 'sliding-window', 'token-bucket'].map(
    (algorithm): [string, unknown] => [`algorithm ${algorithm}`, [{ ...L, algorithm }]]
  ),
  ['algorithm null (the default)', [{ ...L, algorithm: null }]],
  ['algorithm undefined (the default)', [{ ...L, algorithm: undefined }]],
  ['the same limit under two algorithms', [L, { ...L, algorithm: 'fixed-window' }]],
  ['limit × window exactly 2^52', [{ limit: 2 ** 42, window: 1024 }]],
  ['a window of 2^52 ms', [{ limit: 1, window: `${2 ** 52}ms` }]],
  // refused: the list
  ['an empty list', []],
  ['not a list', {}],
  ['null', null],
  ['undefined', undefined],
  ['a string', '60/m'],
  // refused: an entry
  ['a null entry', [null]],
  ['a number entry', [5]],
  ['a string entry', ['60/m']],
  ['an array entry', [[]]],
  ['no limit', [{ window: '1m' }]],
  ['limit 0', [{ ...L, limit: 0 }]],
  ['limit -1', [{ ...L, limit: -1 }]],
  ['limit 1.5', [{ ...L, limit: 1.5 }]],
  ['limit as a string', [{ ...L, limit: '60' }]],
  ['limit NaN', [{ ...L, limit: Number.NaN }]],
  ['limit Infinity', [{ ...L, limit: Number.POSITIVE_INFINITY }]],
  ['limit 2^53', [{ limit: 2 ** 53, window: 1 }]],
  ['no window', [{ limit: 60 }]],
  ['window null', [{ ...L, window: null }]],
  ['window 0', [{ ...L, window: 0 }]],
  ['window -1', [{ ...L, window: -1 }]],
  ['window 1.5', [{ ...L, window: 1.5 }]],
  ['window Infinity', [{ ...L, window: Number.POSITIVE_INFINITY }]],
  ["window '0s'", [{ ...L, window: '0s' }]],
  ["window '01s'", [{ ...L, window: '01s' }]],
  ["window '1.5s'", [{ ...L, window: '1.5s' }]],
  ["window '1 m'", [{ ...L, window: '1 m' }]],
  ["window '1M'", [{ ...L, window: '1M' }]],
  ["window '1w'", [{ ...L, window: '1w' }]],
  ["window ''", [{ ...L, window: '' }]],
  ['window beyond a safe integer', [{ limit: 1, window: `${MAX_SAFE}d` }]],
  ["algorithm 'leaky'", [{ ...L, algorithm: 'leaky' }]],
  ["algorithm ''", [{ ...L, algorithm: '' }]],
  ["algorithm 'GCRA'", [{ ...L, algorithm: 'GCRA' }]],
  ['algorithm 5', [{ ...L, algorithm: 5 }]],
  ['limit × window above 2^52', [{ limit: 2 ** 42 + 1, window: 1024 }]],
  ['a limit given twice', [L, { limit: 60, window: 60_000 }]],
  ['the default algorithm given twice', [L, { ...L, algorithm: 'gcra' }]],
  ['the second of three given twice', [{ limit: 1, window: 1 }, L, { ...L, algorithm: null }]],
  // unknown keys
  ['a misspelt key', [{ ...L, windw: '1m' }]],
  ['an unknown key set to undefined', [{ ...L, burst: undefined }]],
  ['an unknown key on an otherwise bad entry', [{ limit: 0, window: '1m', burst: 5 }]],
]

describe('drift guard: rate-limit limits (createRateLimiter)', () => {
  it.each(rateLimitRows)('%s: same verdict and field', (_name, limits) => {
    expectSameVerdict(
      kitVerdict(() => createRateLimiter({ limits } as never), 'limits'),
      doctorVerdict(rateLimitLimits, limits)
    )
  })
})

const tierRows: [string, unknown][] = [
  // accepted
  ['one tier', { free: [L] }],
  ['two tiers', { free: [L], pro: [{ limit: 600, window: '1m' }] }],
  ['a name with a space and a dash', { 'pro plan-2': [L] }],
  ['a numeric name', { 0: [L] }],
  // refused
  ['no tier', {}],
  ['null', null],
  ['a string', 'free'],
  ['an empty array', []],
  ['an array of limit lists (tier names 0, 1)', [[L], [{ limit: 600, window: '1m' }]]],
  ['an empty tier name', { '': [L] }],
  ['a tier name with {', { 'a{b': [L] }],
  ['a tier name with }', { 'a}b': [L] }],
  ['a tier with no limit', { free: [] }],
  ['a tier that is not a list', { free: 'x' }],
  ['a tier with a null limit list', { free: null }],
  ['a bad limit in the second tier', { free: [L], pro: [{ limit: 0, window: '1m' }] }],
  ['a limit given twice in a tier', { free: [L, L] }],
  ['a misspelt key in a tier', { free: [{ ...L, windw: '1m' }] }],
]

describe("drift guard: rate-limit tiers (rateLimit's tiers)", () => {
  it.each(tierRows)('%s: same verdict and field', (_name, tiers) => {
    expectSameVerdict(
      kitVerdict(() => rateLimit({ tiers, tier: () => undefined } as never), 'tiers'),
      doctorVerdict(rateLimitTiers, tiers)
    )
  })
})

const D = { period: 'day', usd: 5 } as const
const MAX_MICROS = 2 ** 50

const budgetRows: [string, unknown][] = [
  // accepted
  ['no limit', []],
  ['a day in usd', [D]],
  ['a month in micros', [{ period: 'month', micros: 5_000_000 }]],
  ['a rolling window', [{ period: 'rolling', window: '7d', usd: 50 }]],
  ['a rolling window in ms', [{ period: 'rolling', window: 3_600_000, usd: 1 }]],
  [
    'every period, two rolling windows',
    [
      D,
      { period: 'month', usd: 50 },
      { period: 'rolling', window: '1h', usd: 1 },
      { period: 'rolling', window: '1d', usd: 2 },
    ],
  ],
  ['usd 0', [{ period: 'day', usd: 0 }]],
  ['micros 0', [{ period: 'day', micros: 0 }]],
  ['usd -0', [{ period: 'day', usd: -0 }]],
  ['usd below a micro-dollar', [{ period: 'day', usd: 1e-7 }]],
  ['usd of exactly 2^50 micro-dollars', [{ period: 'day', usd: MAX_MICROS / 1e6 }]],
  ['micros 2^50', [{ period: 'day', micros: MAX_MICROS }]],
  ['micros undefined beside usd', [{ ...D, micros: undefined }]],
  ['usd undefined beside micros', [{ period: 'day', usd: undefined, micros: 1 }]],
  ['window undefined on a calendar period', [{ ...D, window: undefined }]],
  // refused: the list
  ['not a list', {}],
  ['null', null],
  ['undefined', undefined],
  ['a string', 'day'],
  // refused: an entry
  ['a null entry', [null]],
  ['a number entry', [5]],
  ['an array entry', [[]]],
  ['no period', [{ usd: 5 }]],
  ["period 'week'", [{ period: 'week', usd: 5 }]],
  ["period 'Day'", [{ period: 'Day', usd: 5 }]],
  ['period null', [{ period: null, usd: 5 }]],
  ['neither usd nor micros', [{ period: 'day' }]],
  ['usd and micros both', [{ period: 'day', usd: 5, micros: 5_000_000 }]],
  ['usd null beside micros', [{ period: 'day', usd: null, micros: 5 }]],
  ['usd -1', [{ period: 'day', usd: -1 }]],
  ['usd NaN', [{ period: 'day', usd: Number.NaN }]],
  ['usd Infinity', [{ period: 'day', usd: Number.POSITIVE_INFINITY }]],
  ['usd as a string', [{ period: 'day', usd: '5' }]],
  ['usd null', [{ period: 'day', usd: null }]],
  ['micros 1.5', [{ period: 'day', micros: 1.5 }]],
  ['micros -1', [{ period: 'day', micros: -1 }]],
  ['micros 2^53', [{ period: 'day', micros: 2 ** 53 }]],
  ['micros as a string', [{ period: 'day', micros: '5' }]],
  ['micros null beside usd', [{ ...D, micros: null }]],
  ['usd above 2^50 micro-dollars', [{ period: 'day', usd: 2 ** 50 }]],
  ['micros above 2^50', [{ period: 'day', micros: MAX_MICROS + 1 }]],
  ['usd rounding above 2^50 micro-dollars', [{ period: 'day', usd: (MAX_MICROS + 1) / 1e6 }]],
  ['a rolling limit without a window', [{ period: 'rolling', usd: 5 }]],
  ['a rolling window null', [{ period: 'rolling', usd: 5, window: null }]],
  ["a rolling window 'a week'", [{ period: 'rolling', usd: 5, window: 'a week' }]],
  ['a rolling window 0', [{ period: 'rolling', usd: 5, window: 0 }]],
  ["a rolling window '1.5h'", [{ period: 'rolling', usd: 5, window: '1.5h' }]],
  ['a window on a calendar period', [{ ...D, window: '1d' }]],
  ['a window null on a calendar period', [{ ...D, window: null }]],
  ['the same period twice', [D, { period: 'day', usd: 9 }]],
  [
    'the same rolling window twice',
    [
      { period: 'rolling', window: '1h', usd: 1 },
      { period: 'rolling', window: 3_600_000, usd: 2 },
    ],
  ],
  // unknown keys
  ['a misspelt key', [{ ...D, windw: '1d' }]],
  ['an unknown key on an otherwise bad entry', [{ period: 'day', usd: -1, currency: 'usd' }]],
]

describe('drift guard: budget limits (createBudget)', () => {
  it.each(budgetRows)('%s: same verdict and field', (_name, limits) => {
    expectSameVerdict(
      kitVerdict(() => createBudget({ limits } as never), 'limits'),
      doctorVerdict(budgetLimits, limits)
    )
  })
})

/**
 * The `rateLimit` and `budget` sections as `parseConfig` reads them, against `rateLimit(options)`
 * and `createBudget(options)`. Left out on purpose, as the README says: `store: 'redis'` (the
 * doctor's shorthand for a Redis store) and `tiers` without the `tier` function (the doctor does
 * not call it).
 */
function sectionVerdict(section: 'rateLimit' | 'budget', options: unknown): Verdict {
  const { problems } = parseConfig({ [section]: options })
  if (problems.length === 0) return { ok: true }
  return {
    ok: false,
    fields: problems.map((p) =>
      p.slice(0, p.indexOf(': ')).replace(new RegExp(`^${section}\\.?`), '')
    ),
  }
}

/** The kit's `tiers.pro.limits[0].limit` as the doctor's `tiers.pro.0.limit`. */
const sectionField = (field: string): string =>
  field.replace(/^(tiers\.[^.[]*)\.limits(?=$|[.[])/, '$1').replace(/\[(\d+)\]/g, '.$1')

function kitSectionVerdict(run: () => unknown): Verdict {
  try {
    run()
    return { ok: true }
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    return { ok: false, fields: [sectionField(error.field)] }
  }
}

const noTier = () => undefined
const limiter = createRateLimiter({ limits: [L] })

const rateLimitSectionRows: [string, Record<string, unknown>][] = [
  // accepted
  ['limits', { limits: [L] }],
  ['tiers with their tier function', { tiers: { free: [L] }, tier: noTier }],
  ['a ready limiter', { limiter }],
  ['dryRun', { limits: [L], dryRun: true }],
  ['a real store', { limits: [L], store: memoryStore() }],
  ['tiers beside limits (the tiers win)', { tiers: { free: [L] }, tier: noTier, limits: [L] }],
  [
    'every option rateLimit takes',
    {
      limits: [L],
      store: memoryStore(),
      prefix: 'api',
      onStoreError: 'open',
      blockCache: { maxKeys: 10, maxAgeMs: 500 },
      keyBy: () => 'k',
      cost: 2,
      headers: 'both',
      dryRun: false,
      ipv6Prefix: 64,
      unkeyed: 'reject',
    },
  ],
  [
    'every tier option',
    {
      tiers: { free: [L] },
      tier: noTier,
      defaultTier: 'free',
      prefix: 'api',
      onStoreError: 'closed',
    },
  ],
  // refused
  ['nothing to limit with', {}],
  ['dryRun as a string', { limits: [L], dryRun: 'yes' }],
  ['dryRun null', { limits: [L], dryRun: null }],
  ['store null', { limits: [L], store: null }],
  ['store as an empty object', { limits: [L], store: {} }],
  ['a limiter that is not one', { limiter: {} }],
  ['limiter null', { limiter: null }],
  ['limiter beside limits', { limiter, limits: [L] }],
  ['a bad limit', { limits: [{ limit: 0, window: '1m' }] }],
  ['a bad limit in a tier', { tiers: { free: [{ ...L, window: 0 }] }, tier: noTier }],
  ['a misspelt option', { limits: [L], dryrun: true }],
  ['a misspelt option beside tiers', { tiers: { free: [L] }, tier: noTier, keyby: noTier }],
  ['a misspelt key in a limit', { limits: [{ ...L, algoritm: 'gcra' }] }],
]

describe('drift guard: the rateLimit section (rateLimit)', () => {
  it.each(rateLimitSectionRows)('%s: same verdict and field', (_name, options) => {
    expectSameVerdict(
      kitSectionVerdict(() => rateLimit(options as never)),
      sectionVerdict('rateLimit', options)
    )
  })
})

const budgetSectionRows: [string, Record<string, unknown>][] = [
  // accepted
  ['limits', { limits: [D] }],
  ['limits as a function', { limits: () => [D] }],
  ['no limit', { limits: [] }],
  ["mode 'soft'", { limits: [D], mode: 'soft' }],
  ['mode null (the default)', { limits: [D], mode: null }],
  ['a real store', { limits: [D], store: memoryStore() }],
  ['store null (the default)', { limits: [D], store: null }],
  [
    'every option createBudget takes',
    {
      limits: [D],
      store: memoryStore(),
      mode: 'hard',
      timeZone: 'Europe/Paris',
      reservationTtl: '5m',
      tombstoneTtl: '5m',
      warnAt: [0.5, 1],
      prefix: 'spend',
      retainPeriods: 3,
      now: Date.now,
    },
  ],
  // refused
  ['no limits', {}],
  ['limits null', { limits: null }],
  ['limits as a string', { limits: 'day' }],
  ["mode 'Hard'", { limits: [D], mode: 'Hard' }],
  ['mode as a boolean', { limits: [D], mode: true }],
  ['store as an empty object', { limits: [D], store: {} }],
  ['store as a number', { limits: [D], store: 1 }],
  ['a bad limit', { limits: [{ period: 'day', usd: -1 }] }],
  ['a rolling limit without its window', { limits: [{ period: 'rolling', usd: 1 }] }],
]

describe('drift guard: the budget section (createBudget)', () => {
  it.each(budgetSectionRows)('%s: same verdict and field', (_name, options) => {
    expectSameVerdict(
      kitSectionVerdict(() => createBudget(options as never)),
      sectionVerdict('budget', options)
    )
  })
})
