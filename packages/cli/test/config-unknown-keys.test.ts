/**
 * Unknown keys: the configuration's sections, the `rateLimit` and `budget` options and their limits
 * (which `rateLimit()` and `createBudget()` refuse at startup), and `runDoctor`'s own input. A
 * misspelt key fails with its path and the closest known name instead of being ignored.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import { BUDGET_KEYS, RATE_LIMIT_KEYS } from '../src/config.js'
import { type DoctorItem, runDoctor } from '../src/index.js'
import { GOOD_CONFIG, GOOD_ENV } from './fixtures.js'

const item = (config: Record<string, unknown>, id: string): DoctorItem | undefined =>
  runDoctor({ env: GOOD_ENV, config }).items.find((i) => i.id === id)

describe('config: unknown keys fail the config item, named by path', () => {
  it.each([
    [
      'a misspelt section',
      { ratelimit: GOOD_CONFIG.rateLimit },
      'ratelimit: unknown field; did you mean `rateLimit`?',
    ],
    [
      'a misspelt rateLimit option',
      { rateLimit: { ...GOOD_CONFIG.rateLimit, dryrun: true } },
      'rateLimit.dryrun: unknown field; did you mean `dryRun`?',
    ],
    [
      'a misspelt key in a rate limit',
      { rateLimit: { limits: [{ limit: 60, windw: '1m' }] } },
      'rateLimit.limits.0.windw: unknown field; did you mean `window`?',
    ],
    [
      'a misspelt key in a tier limit',
      { rateLimit: { tiers: { free: [{ limit: 5, window: '1m', algoritm: 'gcra' }] } } },
      'rateLimit.tiers.free.0.algoritm: unknown field; did you mean `algorithm`?',
    ],
    [
      'a misspelt budget option',
      { budget: { ...GOOD_CONFIG.budget, mdoe: 'soft' } },
      'budget.mdoe: unknown field; did you mean `mode`?',
    ],
    [
      'a misspelt key in a budget limit',
      { budget: { limits: [{ perod: 'day', usd: 5 }] } },
      'budget.limits.0.perod: unknown field; did you mean `period`?',
    ],
    [
      'a key set to undefined',
      { budget: { ...GOOD_CONFIG.budget, timezone: undefined } },
      'budget.timezone: unknown field; did you mean `timeZone`?',
    ],
  ])('%s', (_name, patch, problem) => {
    const config = { ...GOOD_CONFIG, ...patch }
    const configItem = item(config, 'config')
    expect(configItem?.status).toBe('FAIL')
    expect(configItem?.detail).toContain(problem)
  })

  it('fails the section item too: the kit refuses that section at startup', () => {
    const config = { ...GOOD_CONFIG, budget: { ...GOOD_CONFIG.budget, mdoe: 'soft' } }
    expect(item(config, 'budget')).toMatchObject({
      status: 'FAIL',
      detail: 'config field `budget` is invalid',
    })
  })

  it('names an unknown key with no close known name without a hint', () => {
    const config = { ...GOOD_CONFIG, rateLimit: { ...GOOD_CONFIG.rateLimit, zzzzzz: 1 } }
    expect(item(config, 'config')?.detail).toBe('rateLimit.zzzzzz: unknown field')
  })

  it('accepts every option rateLimit() and createBudget() take, and every section', () => {
    const fn = () => undefined
    const rateLimit = {
      keyBy: fn,
      cost: 1,
      headers: 'draft',
      dryRun: false,
      ipv6Prefix: 56,
      unkeyed: 'allow',
      // With tiers, rateLimit() uses neither `limiter` nor `limits`.
      limiter: createRateLimiter({ limits: [{ limit: 1, window: 1 }] }),
      store: 'redis',
      limits: [{ algorithm: 'gcra', limit: 60, window: '1m' }],
      prefix: 'rl',
      onStoreError: 'memory',
      blockCache: false,
      tiers: { free: [{ limit: 5, window: '1m' }] },
      tier: fn,
      defaultTier: 'free',
    }
    const budget = {
      store: memoryStore(),
      limits: [{ period: 'rolling', window: '1d', usd: 5 }],
      mode: 'hard',
      timeZone: 'UTC',
      reservationTtl: '10m',
      tombstoneTtl: '10m',
      warnAt: [0.8, 1],
      prices: {},
      prefix: 'budget',
      retainPeriods: 2,
      now: Date.now,
    }
    // Every key listed once: the lists are held to the kit's types by limits-drift.test.ts.
    expect(Object.keys(rateLimit).sort()).toEqual([...RATE_LIMIT_KEYS].sort())
    expect(Object.keys(budget).sort()).toEqual([...BUDGET_KEYS].sort())
    const config = {
      ...GOOD_CONFIG,
      rateLimit,
      budget,
      sentry: false,
      metrics: true,
      publicPrefixes: ['NEXT_PUBLIC_'],
      allowPublic: [],
    }
    expect(item(config, 'config')).toMatchObject({ status: 'PASS', detail: 'valid' })
  })
})

describe('runDoctor input', () => {
  it('refuses a misspelt key with InvalidOptionsError naming it', () => {
    const run = () => runDoctor({ env: GOOD_ENV, confg: GOOD_CONFIG } as never)
    expect(run).toThrow(InvalidOptionsError)
    expect(run).toThrow(expect.objectContaining({ field: 'confg' }))
    expect(run).toThrow('did you mean `config`?')
  })

  it('accepts every documented key', () => {
    expect(runDoctor({ env: GOOD_ENV, config: GOOD_CONFIG }).ok).toBe(true)
  })
})
