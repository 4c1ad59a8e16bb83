/**
 * Drift guard: `limits-schema.ts` mirrors the limit validation of `@aikit/ratelimit`
 * (`createRateLimiter`, `rateLimit`'s `tiers`) and `@aikit/cost` (`createBudget`), which the CLI
 * does not depend on at runtime. Every input below goes through both sides, and each row says what
 * they must answer: `'ok'` (both accept; the kit really constructs), or the field the kit names,
 * which the doctor must name too (see `drift-verdicts.ts`). A change on either side that breaks
 * this fails here, not in a user's deploy gate.
 */
import { memoryStore } from '@aikit/core'
import { type BudgetLimitOptions, type BudgetOptions, createBudget } from '@aikit/cost'
import {
  createRateLimiter,
  type LimitOptions,
  type RateLimitOptions,
  rateLimit,
} from '@aikit/ratelimit'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { BUDGET_KEYS, RATE_LIMIT_KEYS } from '../src/config.js'
import {
  type BUDGET_LIMIT_KEYS,
  budgetLimits,
  type LIMIT_KEYS,
  rateLimitLimits,
  rateLimitTiers,
} from '../src/limits-schema.js'
import {
  type Expected,
  expectVerdicts,
  kitVerdict,
  schemaVerdict,
  sectionVerdict,
} from './drift-verdicts.js'

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

const L = { limit: 60, window: '1m' } as const
const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** A list of `length` with only `entries` set: the others are holes (`[a, , b]`), not `undefined`s. */
const sparse = (length: number, entries: Record<number, unknown>): unknown[] =>
  Object.assign(new Array(length), entries)

const rateLimitRows: [string, unknown, Expected][] = [
  // accepted
  ['one limit', [L], 'ok'],
  ['a window in ms', [{ limit: 1, window: 1 }], 'ok'],
  ['every unit', ['500ms', '10s', '1m', '1h', '1d'].map((window) => ({ limit: 1, window })), 'ok'],
  ...['gcra', 'fixed-window', 'sliding-window', 'token-bucket'].map(
    (algorithm): [string, unknown, Expected] => [
      `algorithm ${algorithm}`,
      [{ ...L, algorithm }],
      'ok',
    ]
  ),
  ['algorithm null (the default)', [{ ...L, algorithm: null }], 'ok'],
  ['algorithm undefined (the default)', [{ ...L, algorithm: undefined }], 'ok'],
  ['the same limit under two algorithms', [L, { ...L, algorithm: 'fixed-window' }], 'ok'],
  ['limit × window exactly 2^52', [{ limit: 2 ** 42, window: 1024 }], 'ok'],
  ['a window of 2^52 ms', [{ limit: 1, window: `${2 ** 52}ms` }], 'ok'],
  // refused: the list
  ['an empty list', [], 'limits'],
  ['not a list', {}, 'limits'],
  ['null', null, 'limits'],
  ['undefined', undefined, 'limits'],
  ['a string', '60/m', 'limits'],
  // refused: an entry
  ['a null entry', [null], 'limits.0'],
  ['a number entry', [5], 'limits.0'],
  ['a string entry', ['60/m'], 'limits.0'],
  ['an array entry', [[]], 'limits.0.limit'],
  ['a hole', sparse(1, {}), 'limits.0'],
  ['a hole between two limits', sparse(3, { 0: L, 2: { limit: 5, window: '1s' } }), 'limits.1'],
  ['no limit', [{ window: '1m' }], 'limits.0.limit'],
  ['limit 0', [{ ...L, limit: 0 }], 'limits.0.limit'],
  ['limit -1', [{ ...L, limit: -1 }], 'limits.0.limit'],
  ['limit 1.5', [{ ...L, limit: 1.5 }], 'limits.0.limit'],
  ['limit as a string', [{ ...L, limit: '60' }], 'limits.0.limit'],
  ['limit NaN', [{ ...L, limit: Number.NaN }], 'limits.0.limit'],
  ['limit Infinity', [{ ...L, limit: Number.POSITIVE_INFINITY }], 'limits.0.limit'],
  ['limit 2^53', [{ limit: 2 ** 53, window: 1 }], 'limits.0.limit'],
  ['no window', [{ limit: 60 }], 'limits.0.window'],
  ['window null', [{ ...L, window: null }], 'limits.0.window'],
  ['window 0', [{ ...L, window: 0 }], 'limits.0.window'],
  ['window -1', [{ ...L, window: -1 }], 'limits.0.window'],
  ['window 1.5', [{ ...L, window: 1.5 }], 'limits.0.window'],
  ['window Infinity', [{ ...L, window: Number.POSITIVE_INFINITY }], 'limits.0.window'],
  ["window '0s'", [{ ...L, window: '0s' }], 'limits.0.window'],
  ["window '01s'", [{ ...L, window: '01s' }], 'limits.0.window'],
  ["window '1.5s'", [{ ...L, window: '1.5s' }], 'limits.0.window'],
  ["window '1 m'", [{ ...L, window: '1 m' }], 'limits.0.window'],
  ["window '1M'", [{ ...L, window: '1M' }], 'limits.0.window'],
  ["window '1w'", [{ ...L, window: '1w' }], 'limits.0.window'],
  ["window ''", [{ ...L, window: '' }], 'limits.0.window'],
  ['window beyond a safe integer', [{ limit: 1, window: `${MAX_SAFE}d` }], 'limits.0.window'],
  ["algorithm 'leaky'", [{ ...L, algorithm: 'leaky' }], 'limits.0.algorithm'],
  ["algorithm ''", [{ ...L, algorithm: '' }], 'limits.0.algorithm'],
  ["algorithm 'GCRA'", [{ ...L, algorithm: 'GCRA' }], 'limits.0.algorithm'],
  ['algorithm 5', [{ ...L, algorithm: 5 }], 'limits.0.algorithm'],
  ['limit × window above 2^52', [{ limit: 2 ** 42 + 1, window: 1024 }], 'limits.0.limit'],
  ['a limit given twice', [L, { limit: 60, window: 60_000 }], 'limits.1'],
  ['the default algorithm given twice', [L, { ...L, algorithm: 'gcra' }], 'limits.1'],
  [
    'the second of three given twice',
    [{ limit: 1, window: 1 }, L, { ...L, algorithm: null }],
    'limits.2',
  ],
  // unknown keys
  ['a misspelt key', [{ ...L, windw: '1m' }], 'limits.0.windw'],
  ['an unknown key set to undefined', [{ ...L, burst: undefined }], 'limits.0.burst'],
  [
    'an unknown key on an otherwise bad entry',
    [{ limit: 0, window: '1m', burst: 5 }],
    'limits.0.burst',
  ],
]

describe('drift guard: rate-limit limits (createRateLimiter)', () => {
  it.each(rateLimitRows)('%s', (_name, limits, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => createRateLimiter({ limits } as never)),
      schemaVerdict(rateLimitLimits, limits, 'limits')
    )
  })
})

const tierRows: [string, unknown, Expected][] = [
  // accepted
  ['one tier', { free: [L] }, 'ok'],
  ['two tiers', { free: [L], pro: [{ limit: 600, window: '1m' }] }, 'ok'],
  ['a name with a space and a dash', { 'pro plan-2': [L] }, 'ok'],
  ['a numeric name', { 0: [L] }, 'ok'],
  // refused
  ['no tier', {}, 'tiers'],
  ['null', null, 'tiers'],
  ['a string', 'free', 'tiers'],
  ['an empty array', [], 'tiers'],
  ['an array of limit lists (tiers are named)', [[L], [{ limit: 600, window: '1m' }]], 'tiers'],
  ['an empty tier name (the field is the tier named "")', { '': [L] }, 'tiers.'],
  ['a tier name with {', { 'a{b': [L] }, 'tiers.a{b'],
  ['a tier name with }', { 'a}b': [L] }, 'tiers.a}b'],
  ['a tier with no limit', { free: [] }, 'tiers.free'],
  ['a tier that is not a list', { free: 'x' }, 'tiers.free'],
  ['a tier with a null limit list', { free: null }, 'tiers.free'],
  ['a hole in a tier', { free: sparse(2, { 1: L }) }, 'tiers.free.0'],
  [
    'a bad limit in the second tier',
    { free: [L], pro: [{ limit: 0, window: '1m' }] },
    'tiers.pro.0.limit',
  ],
  ['a limit given twice in a tier', { free: [L, L] }, 'tiers.free.1'],
  ['a misspelt key in a tier', { free: [{ ...L, windw: '1m' }] }, 'tiers.free.0.windw'],
]

describe("drift guard: rate-limit tiers (rateLimit's tiers)", () => {
  it.each(tierRows)('%s', (_name, tiers, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => rateLimit({ tiers, tier: () => undefined } as never)),
      schemaVerdict(rateLimitTiers, tiers, 'tiers')
    )
  })
})

const D = { period: 'day', usd: 5 } as const
const MAX_MICROS = 2 ** 50

const budgetRows: [string, unknown, Expected][] = [
  // accepted
  ['no limit', [], 'ok'],
  ['a day in usd', [D], 'ok'],
  ['a month in micros', [{ period: 'month', micros: 5_000_000 }], 'ok'],
  ['a rolling window', [{ period: 'rolling', window: '7d', usd: 50 }], 'ok'],
  ['a rolling window in ms', [{ period: 'rolling', window: 3_600_000, usd: 1 }], 'ok'],
  [
    'every period, two rolling windows',
    [
      D,
      { period: 'month', usd: 50 },
      { period: 'rolling', window: '1h', usd: 1 },
      { period: 'rolling', window: '1d', usd: 2 },
    ],
    'ok',
  ],
  ['usd 0', [{ period: 'day', usd: 0 }], 'ok'],
  ['micros 0', [{ period: 'day', micros: 0 }], 'ok'],
  ['usd -0', [{ period: 'day', usd: -0 }], 'ok'],
  ['usd below a micro-dollar', [{ period: 'day', usd: 1e-7 }], 'ok'],
  ['usd of exactly 2^50 micro-dollars', [{ period: 'day', usd: MAX_MICROS / 1e6 }], 'ok'],
  ['micros 2^50', [{ period: 'day', micros: MAX_MICROS }], 'ok'],
  ['micros undefined beside usd', [{ ...D, micros: undefined }], 'ok'],
  ['usd undefined beside micros', [{ period: 'day', usd: undefined, micros: 1 }], 'ok'],
  ['window undefined on a calendar period', [{ ...D, window: undefined }], 'ok'],
  // refused: the list
  ['not a list', {}, 'limits'],
  ['null', null, 'limits'],
  ['undefined', undefined, 'limits'],
  ['a string', 'day', 'limits'],
  // refused: an entry
  ['a null entry', [null], 'limits.0'],
  ['a number entry', [5], 'limits.0'],
  ['an array entry', [[]], 'limits.0.period'],
  ['a hole', sparse(1, {}), 'limits.0'],
  ['a hole after a limit', sparse(2, { 0: D }), 'limits.1'],
  ['no period', [{ usd: 5 }], 'limits.0.period'],
  ["period 'week'", [{ period: 'week', usd: 5 }], 'limits.0.period'],
  ["period 'Day'", [{ period: 'Day', usd: 5 }], 'limits.0.period'],
  ['period null', [{ period: null, usd: 5 }], 'limits.0.period'],
  ['neither usd nor micros', [{ period: 'day' }], 'limits.0.usd'],
  ['usd and micros both', [{ period: 'day', usd: 5, micros: 5_000_000 }], 'limits.0'],
  ['usd null beside micros', [{ period: 'day', usd: null, micros: 5 }], 'limits.0'],
  ['usd -1', [{ period: 'day', usd: -1 }], 'limits.0.usd'],
  ['usd NaN', [{ period: 'day', usd: Number.NaN }], 'limits.0.usd'],
  ['usd Infinity', [{ period: 'day', usd: Number.POSITIVE_INFINITY }], 'limits.0.usd'],
  ['usd as a string', [{ period: 'day', usd: '5' }], 'limits.0.usd'],
  ['usd null', [{ period: 'day', usd: null }], 'limits.0.usd'],
  ['micros 1.5', [{ period: 'day', micros: 1.5 }], 'limits.0.micros'],
  ['micros -1', [{ period: 'day', micros: -1 }], 'limits.0.micros'],
  ['micros 2^53', [{ period: 'day', micros: 2 ** 53 }], 'limits.0.micros'],
  ['micros as a string', [{ period: 'day', micros: '5' }], 'limits.0.micros'],
  ['micros null beside usd', [{ ...D, micros: null }], 'limits.0'],
  ['usd above 2^50 micro-dollars', [{ period: 'day', usd: 2 ** 50 }], 'limits.0'],
  ['micros above 2^50', [{ period: 'day', micros: MAX_MICROS + 1 }], 'limits.0'],
  [
    'usd rounding above 2^50 micro-dollars',
    [{ period: 'day', usd: (MAX_MICROS + 1) / 1e6 }],
    'limits.0',
  ],
  ['a rolling limit without a window', [{ period: 'rolling', usd: 5 }], 'limits.0.window'],
  ['a rolling window null', [{ period: 'rolling', usd: 5, window: null }], 'limits.0.window'],
  [
    "a rolling window 'a week'",
    [{ period: 'rolling', usd: 5, window: 'a week' }],
    'limits.0.window',
  ],
  ['a rolling window 0', [{ period: 'rolling', usd: 5, window: 0 }], 'limits.0.window'],
  ["a rolling window '1.5h'", [{ period: 'rolling', usd: 5, window: '1.5h' }], 'limits.0.window'],
  ['a window on a calendar period', [{ ...D, window: '1d' }], 'limits.0.window'],
  ['a window null on a calendar period', [{ ...D, window: null }], 'limits.0.window'],
  ['the same period twice', [D, { period: 'day', usd: 9 }], 'limits.1'],
  [
    'the same rolling window twice',
    [
      { period: 'rolling', window: '1h', usd: 1 },
      { period: 'rolling', window: 3_600_000, usd: 2 },
    ],
    'limits.1',
  ],
  // unknown keys
  ['a misspelt key', [{ ...D, windw: '1d' }], 'limits.0.windw'],
  [
    'an unknown key on an otherwise bad entry',
    [{ period: 'day', usd: -1, currency: 'usd' }],
    'limits.0.currency',
  ],
]

describe('drift guard: budget limits (createBudget)', () => {
  it.each(budgetRows)('%s', (_name, limits, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => createBudget({ limits } as never)),
      schemaVerdict(budgetLimits, limits, 'limits')
    )
  })
})

/**
 * The `rateLimit` and `budget` sections as `parseConfig` reads them, against `rateLimit(options)`
 * and `createBudget(options)`. Left out on purpose, as the README says: `store: 'redis'` (the
 * doctor's shorthand for a Redis store) and `tiers` without the `tier` function (the doctor does
 * not call it).
 */
const noTier = () => undefined
const limiter = createRateLimiter({ limits: [L] })

const rateLimitSectionRows: [string, Record<string, unknown>, Expected][] = [
  // accepted
  ['limits', { limits: [L] }, 'ok'],
  ['tiers with their tier function', { tiers: { free: [L] }, tier: noTier }, 'ok'],
  ['a ready limiter', { limiter }, 'ok'],
  ['dryRun', { limits: [L], dryRun: true }, 'ok'],
  ['a real store', { limits: [L], store: memoryStore() }, 'ok'],
  [
    'every option rateLimit takes with its own limits',
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
      unkeyed: 'reject',
    },
    'ok',
  ],
  ['ipv6Prefix with the default key', { limits: [L], ipv6Prefix: 64 }, 'ok'],
  [
    'options set to undefined count as not given',
    { limiter, store: undefined, tier: undefined },
    'ok',
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
    'ok',
  ],
  // refused
  ['nothing to limit with', {}, 'limits'],
  ['dryRun as a string', { limits: [L], dryRun: 'yes' }, 'dryRun'],
  ['dryRun null', { limits: [L], dryRun: null }, 'dryRun'],
  ['store null', { limits: [L], store: null }, 'store'],
  ['store as an empty object', { limits: [L], store: {} }, 'store'],
  ['a limiter that is not one', { limiter: {} }, 'limiter'],
  ['limiter null', { limiter: null }, 'limiter'],
  ['limiter beside limits', { limiter, limits: [L] }, 'limiter'],
  ['a bad limit', { limits: [{ limit: 0, window: '1m' }] }, 'limits.0.limit'],
  [
    'a bad limit in a tier',
    { tiers: { free: [{ ...L, window: 0 }] }, tier: noTier },
    'tiers.free.0.window',
  ],
  ['a misspelt option', { limits: [L], dryrun: true }, 'dryrun'],
  [
    'a misspelt option beside tiers',
    { tiers: { free: [L] }, tier: noTier, keyby: noTier },
    'keyby',
  ],
  ['a misspelt key in a limit', { limits: [{ ...L, algoritm: 'gcra' }] }, 'limits.0.algoritm'],
  // options rateLimit does not read the way the limiter is given: refused, not dropped
  ['ipv6Prefix beside keyBy', { limits: [L], keyBy: () => 'k', ipv6Prefix: 64 }, 'ipv6Prefix'],
  ['limits beside tiers', { tiers: { free: [L] }, tier: noTier, limits: [L] }, 'limits'],
  ['limiter beside tiers', { tiers: { free: [L] }, tier: noTier, limiter }, 'limiter'],
  ['tier without tiers', { limits: [L], tier: noTier }, 'tier'],
  ['defaultTier without tiers', { limiter, defaultTier: 'free' }, 'defaultTier'],
  ['store beside a ready limiter', { limiter, store: memoryStore() }, 'store'],
  ['prefix beside a ready limiter', { limiter, prefix: 'api' }, 'prefix'],
  ['blockCache beside a ready limiter', { limiter, blockCache: false }, 'blockCache'],
  [
    'an unread option beside a bad limit',
    { limits: [{ limit: 0, window: '1m' }], tier: noTier },
    'tier',
  ],
]

describe('drift guard: the rateLimit section (rateLimit)', () => {
  it.each(rateLimitSectionRows)('%s', (_name, options, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => rateLimit(options as never)),
      sectionVerdict('rateLimit', options)
    )
  })
})

const budgetSectionRows: [string, Record<string, unknown>, Expected][] = [
  // accepted
  ['limits', { limits: [D] }, 'ok'],
  ['limits as a function', { limits: () => [D] }, 'ok'],
  ['no limit', { limits: [] }, 'ok'],
  ["mode 'soft'", { limits: [D], mode: 'soft' }, 'ok'],
  ['mode null (the default)', { limits: [D], mode: null }, 'ok'],
  ['a real store', { limits: [D], store: memoryStore() }, 'ok'],
  ['store null (the default)', { limits: [D], store: null }, 'ok'],
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
    'ok',
  ],
  // refused
  ['no limits', {}, 'limits'],
  ['limits null', { limits: null }, 'limits'],
  ['limits as a string', { limits: 'day' }, 'limits'],
  ["mode 'Hard'", { limits: [D], mode: 'Hard' }, 'mode'],
  ['mode as a boolean', { limits: [D], mode: true }, 'mode'],
  ['store as an empty object', { limits: [D], store: {} }, 'store'],
  ['store as a number', { limits: [D], store: 1 }, 'store'],
  ['a bad limit', { limits: [{ period: 'day', usd: -1 }] }, 'limits.0.usd'],
  [
    'a rolling limit without its window',
    { limits: [{ period: 'rolling', usd: 1 }] },
    'limits.0.window',
  ],
]

describe('drift guard: the budget section (createBudget)', () => {
  it.each(budgetSectionRows)('%s', (_name, options, expected) => {
    expectVerdicts(
      expected,
      kitVerdict(() => createBudget(options as never)),
      sectionVerdict('budget', options)
    )
  })
})

describe('drift guard: a row cannot pass for another reason', () => {
  it('fails when both sides refuse, but not for the field the row names', () => {
    // Say both refused because of an unread `tier` while the row is about a bad limit.
    const other = { ok: false, fields: ['tier'] } as const
    expect(() => expectVerdicts('limits.0.limit', other, other)).toThrow()
  })

  it('fails when only the doctor names the field', () => {
    const kit = { ok: false, fields: ['store'] } as const
    const doctor = { ok: false, fields: ['store', 'limits.0.limit'] } as const
    expect(() => expectVerdicts('limits.0.limit', kit, doctor)).toThrow()
  })
})
