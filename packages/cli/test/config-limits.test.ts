/**
 * `doctorConfigSchema` checks the limit lists as the kit checks them at startup, so a set-up the
 * kit refuses fails the `config` item (README: FAIL when "a configuration field is invalid")
 * instead of passing as "valid". Each case is first proved against the kit itself.
 */
import { describe, expect, it } from 'vitest'
import { createBudget } from '../../cost/src/index.js'
import { createRateLimiter, rateLimit } from '../../ratelimit/src/index.js'
import { runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const report = (config: Record<string, unknown>) => runDoctor({ env: GOOD_ENV, config }).items
const status = (config: Record<string, unknown>, id: string) =>
  report(config).find((i) => i.id === id)?.status
const configDetail = (config: Record<string, unknown>) =>
  report(config).find((i) => i.id === 'config')?.detail

describe('config: budget limits as createBudget reads them', () => {
  it('fails a budget limit with neither usd nor micros', () => {
    const budget = { limits: [{ period: 'day' }] }
    expect(() => createBudget(budget as never)).toThrow(/usd/)
    expect(status({ ...GOOD_CONFIG, budget }, 'config')).toBe('FAIL')
    expect(configDetail({ ...GOOD_CONFIG, budget })).toContain('budget.limits.0.usd: is required')
    expect(status({ ...GOOD_CONFIG, budget }, 'budget')).toBe('FAIL')
  })

  it.each([
    ['usd and micros both', [{ period: 'day', usd: 5, micros: 5_000_000 }]],
    ['a rolling limit without a window', [{ period: 'rolling', usd: 5 }]],
    ['a window on a calendar period', [{ period: 'day', usd: 5, window: '1d' }]],
    ['a rolling window that is not a duration', [{ period: 'rolling', usd: 5, window: 'a week' }]],
    [
      'the same period twice',
      [
        { period: 'day', usd: 5 },
        { period: 'day', usd: 9 },
      ],
    ],
    ['more than 2^50 micro-dollars', [{ period: 'month', usd: 2 ** 50 }]],
    ['usd: null', [{ period: 'day', usd: null }]],
    ['micros: null beside usd', [{ period: 'day', usd: 5, micros: null }]],
    ['window: null on a calendar period', [{ period: 'day', usd: 5, window: null }]],
    ['window: null on a rolling period', [{ period: 'rolling', usd: 5, window: null }]],
  ])('fails %s', (_name, limits) => {
    expect(() => createBudget({ limits } as never)).toThrow()
    expect(status({ ...GOOD_CONFIG, budget: { limits } }, 'config')).toBe('FAIL')
  })

  it.each([
    ['micros', [{ period: 'day', micros: 5_000_000 }]],
    ['a zero budget', [{ period: 'day', usd: 0 }]],
    ['a rolling window', [{ period: 'rolling', window: '7d', usd: 50 }]],
    ['an empty limit list', []],
  ])('accepts %s, as createBudget does', (_name, limits) => {
    expect(() => createBudget({ limits } as never)).not.toThrow()
    expect(status({ ...GOOD_CONFIG, budget: { limits, store: 'redis' } }, 'config')).toBe('PASS')
  })
})

describe('config: rate-limit limits as createRateLimiter and rateLimit read them', () => {
  it("fails a rate-limit window that is not a duration ('forever')", () => {
    const limits = [{ limit: 60, window: 'forever' }]
    expect(() => createRateLimiter({ limits } as never)).toThrow(/window/)
    expect(status({ ...GOOD_CONFIG, rateLimit: { limits } }, 'config')).toBe('FAIL')
    expect(configDetail({ ...GOOD_CONFIG, rateLimit: { limits } })).toContain(
      'rateLimit.limits.0.window: expected a positive integer of milliseconds or a duration'
    )
  })

  it.each([
    ['a fractional window', [{ limit: 60, window: 1.5 }]],
    ['a window with a space', [{ limit: 60, window: '1 m' }]],
    ['an unknown algorithm', [{ limit: 60, window: '1m', algorithm: 'leaky' }]],
    ['limit × window above 2^52', [{ limit: 2 ** 30, window: '30d' }]],
    [
      'the same limit twice',
      [
        { limit: 60, window: '1m' },
        { limit: 60, window: 60_000 },
      ],
    ],
  ])('fails %s', (_name, limits) => {
    expect(() => createRateLimiter({ limits } as never)).toThrow()
    expect(status({ ...GOOD_CONFIG, rateLimit: { limits } }, 'config')).toBe('FAIL')
  })

  it('accepts every duration unit and a number of milliseconds, as createRateLimiter does', () => {
    const limits = ['500ms', '10s', '1m', '1h', '1d', 250].map((window) => ({ limit: 5, window }))
    expect(() => createRateLimiter({ limits } as never)).not.toThrow()
    const rl = { limits, store: 'redis' }
    expect(status({ ...GOOD_CONFIG, rateLimit: rl }, 'config')).toBe('PASS')
  })

  it('accepts algorithm: null (and undefined) as gcra, as createRateLimiter does', () => {
    const limits = [
      { algorithm: null, limit: 60, window: '1m' },
      { algorithm: undefined, limit: 1000, window: '1h' },
    ]
    expect(createRateLimiter({ limits } as never).limits.map((l) => l.algorithm)).toEqual([
      'gcra',
      'gcra',
    ])
    const rl = { limits, store: 'redis' }
    expect(status({ ...GOOD_CONFIG, rateLimit: rl }, 'config')).toBe('PASS')
  })

  it('fails algorithm: null beside an explicit gcra of the same limit (a duplicate)', () => {
    const limits = [
      { algorithm: null, limit: 60, window: '1m' },
      { algorithm: 'gcra', limit: 60, window: 60_000 },
    ]
    expect(() => createRateLimiter({ limits } as never)).toThrow(/duplicates/)
    expect(status({ ...GOOD_CONFIG, rateLimit: { limits } }, 'config')).toBe('FAIL')
  })

  it.each([
    ['limit: null', [{ limit: null, window: '1m' }]],
    ['window: null', [{ limit: 60, window: null }]],
    ['an empty limit list', []],
  ])('fails %s, as createRateLimiter does', (_name, limits) => {
    expect(() => createRateLimiter({ limits } as never)).toThrow()
    expect(status({ ...GOOD_CONFIG, rateLimit: { limits } }, 'config')).toBe('FAIL')
  })

  it('fails rate-limit tiers with no tier (no limit at all)', () => {
    expect(() => rateLimit({ tiers: {} } as never)).toThrow(/tiers/)
    const config = { ...GOOD_CONFIG, rateLimit: { tiers: {} } }
    expect(status(config, 'config')).toBe('FAIL')
    expect(status(config, 'rate-limit')).toBe('FAIL')
  })

  it('fails a tier name with braces, and a tier limit that is not a duration', () => {
    const tier = () => 'free'
    const braces = { 'fr{ee}': [{ limit: 5, window: '1m' }] }
    expect(() => rateLimit({ tiers: braces, tier } as never)).toThrow(/tier names/)
    expect(status({ ...GOOD_CONFIG, rateLimit: { tiers: braces } }, 'config')).toBe('FAIL')
    const forever = { free: [{ limit: 5, window: 'forever' }] }
    expect(() => rateLimit({ tiers: forever, tier } as never)).toThrow(/window/)
    expect(configDetail({ ...GOOD_CONFIG, rateLimit: { tiers: forever } })).toContain(
      'rateLimit.tiers.free.0.window'
    )
  })
})

// A config module is JavaScript: `[L, , L2]` leaves a hole, which forEach and map skip. The kit
// refuses it as `limits[i]` (limits-drift.test.ts holds the doctor to that); so does the doctor.
describe('config: a sparse limit list', () => {
  const L = { limit: 60, window: '1m' }
  /** A list of `length` with only `entries` set: the others are holes, not `undefined`s. */
  const sparse = (length: number, entries: Record<number, unknown>): unknown[] =>
    Object.assign(new Array(length), entries)
  it.each([
    [
      'rateLimit.limits',
      { rateLimit: { limits: sparse(3, { 0: L, 2: { limit: 5, window: '1s' } }) } },
      'rateLimit.limits.1',
    ],
    [
      'rateLimit.limits of holes only',
      { rateLimit: { limits: sparse(1, {}) } },
      'rateLimit.limits.0',
    ],
    ['a tier', { rateLimit: { tiers: { free: sparse(2, { 1: L }) } } }, 'rateLimit.tiers.free.0'],
    [
      'budget.limits',
      { budget: { limits: sparse(2, { 0: { period: 'day', usd: 5 } }) } },
      'budget.limits.1',
    ],
  ])('fails %s with a hole, naming the empty slot', (_name, patch, field) => {
    const config = { ...GOOD_CONFIG, ...patch }
    expect(status(config, 'config')).toBe('FAIL')
    expect(configDetail(config)).toContain(`${field}: expected object`)
  })
})
