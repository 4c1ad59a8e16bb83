/**
 * Unknown keys: the configuration's sections, the `rateLimit` and `budget` options and their limits
 * (which `rateLimit()` and `createBudget()` refuse at startup), and `runDoctor`'s own input. A
 * misspelt key fails with its path and the closest known name instead of being ignored.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import {
  BUDGET_KEYS,
  CACHE_KEYS,
  CORS_KEYS,
  METRICS_KEYS,
  RATE_LIMIT_KEYS,
  SENTRY_KEYS,
} from '../src/config.js'
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
    // cors(), createCache(), initSentry() and metricsHandler() refuse unknown keys at startup too.
    [
      'a misspelt cors option',
      { cors: { ...GOOD_CONFIG.cors, maxage: 600 } },
      'cors.maxage: unknown field; did you mean `maxAge`?',
    ],
    [
      'an option of the npm cors package that cors() does not take',
      { cors: { ...GOOD_CONFIG.cors, preflightContinue: true } },
      'cors.preflightContinue: unknown field',
    ],
    [
      'a misspelt cache option',
      { cache: { store: 'redis', staleWhileRevalidte: 1000 } },
      'cache.staleWhileRevalidte: unknown field; did you mean `staleWhileRevalidate`?',
    ],
    [
      'a misspelt key in cache.memory',
      { cache: { store: 'redis', memory: { maxEntires: 10 } } },
      'cache.memory.maxEntires: unknown field; did you mean `maxEntries`?',
    ],
    [
      'a misspelt key in cache.timeouts',
      { cache: { store: 'redis', timeouts: { sotf: 100 } } },
      'cache.timeouts.sotf: unknown field; did you mean `soft`?',
    ],
    [
      'a misspelt key in cache.compression',
      { cache: { store: 'redis', compression: { treshold: 100 } } },
      'cache.compression.treshold: unknown field; did you mean `threshold`?',
    ],
    [
      'a misspelt sentry option',
      { sentry: { dsn: 'https://k@o1.ingest.sentry.io/1', tracesSampleRte: 0.1 } },
      'sentry.tracesSampleRte: unknown field; did you mean `tracesSampleRate`?',
    ],
    [
      'a misspelt metrics option',
      { metrics: { pth: '/metrics' } },
      'metrics.pth: unknown field; did you mean `path`?',
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
    // rateLimit() reads some options only one way the limiter is given (and refuses them the
    // other ways): every key appears in one of its three ways.
    const ownLimits = {
      keyBy: fn,
      cost: 1,
      headers: 'draft',
      dryRun: false,
      unkeyed: 'allow',
      store: 'redis',
      limits: [{ algorithm: 'gcra', limit: 60, window: '1m' }],
      prefix: 'rl',
      onStoreError: 'memory',
      blockCache: false,
    }
    const tiers = {
      ipv6Prefix: 56,
      tiers: { free: [{ limit: 5, window: '1m' }] },
      tier: fn,
      defaultTier: 'free',
      store: 'redis',
    }
    const readyLimiter = { limiter: createRateLimiter({ limits: [{ limit: 1, window: 1 }] }) }
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
    // Every key listed: the lists are held to the kit's types by limits-drift.test.ts.
    const rateLimitKeys = new Set([ownLimits, tiers, readyLimiter].flatMap(Object.keys))
    expect([...rateLimitKeys].sort()).toEqual([...RATE_LIMIT_KEYS].sort())
    expect(Object.keys(budget).sort()).toEqual([...BUDGET_KEYS].sort())
    for (const rateLimit of [ownLimits, tiers, readyLimiter]) {
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
    }
  })

  it.each([
    ['ipv6Prefix beside keyBy', { keyBy: () => 'k', ipv6Prefix: 64 }, 'ipv6Prefix'],
    ['limits beside tiers', { tiers: { free: [{ limit: 5, window: '1m' }] } }, 'limits'],
    ['tier without tiers', { tier: () => 'free' }, 'tier'],
  ])('refuses an option rateLimit() does not read that way: %s', (_name, patch, field) => {
    const config = { ...GOOD_CONFIG, rateLimit: { ...GOOD_CONFIG.rateLimit, ...patch } }
    expect(item(config, 'config')?.detail).toMatch(new RegExp(`^rateLimit\\.${field}: `))
  })
})

describe("config: cors, cache, sentry and metrics take their factories' options", () => {
  it('accepts every option cors(), createCache(), initSentry() and metricsHandler() take', () => {
    const fn = () => undefined
    const cors = {
      origin: ['https://app.example.com'],
      credentials: true,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    }
    const cache = {
      store: 'redis',
      memory: { maxEntries: 100, maxBytes: 1_000_000 },
      ttl: 60_000,
      staleWhileRevalidate: 1000,
      staleIfError: 1000,
      timeouts: { soft: 100, hard: 1000 },
      jitter: 0.1,
      namespace: 'cache',
      serializer: { serialize: JSON.stringify, deserialize: JSON.parse },
      compression: { threshold: 1024 },
      lockTtl: 10_000,
      lockMaxHold: 120_000,
      pollInterval: 50,
      bus: { client: {}, channel: 'aikit' },
      now: Date.now,
    }
    const sentry = {
      dsn: 'https://k@o1.ingest.sentry.io/1',
      environment: 'production',
      release: '1.0.0',
      tracesSampleRate: 0.1,
      allowRequestBodies: false,
      allowGenAiContent: false,
      redact: fn,
      sourceContext: 'scrub',
      // Sentry's own options go to Sentry.init unchecked.
      sentryOptions: { integrations: [], anyKeySentryTakes: true },
      sentry: {},
    }
    const metrics = { path: '/metrics', token: 'metrics-token-0123456789' }
    // Every key listed once: the lists are held to the kit's types by config-drift.test.ts.
    expect(Object.keys(cors).sort()).toEqual([...CORS_KEYS].sort())
    expect(Object.keys(cache).sort()).toEqual([...CACHE_KEYS].sort())
    expect(Object.keys(sentry).sort()).toEqual([...SENTRY_KEYS].sort())
    expect(Object.keys(metrics).sort()).toEqual([...METRICS_KEYS].sort())
    const config = { ...GOOD_CONFIG, cors, cache, sentry, metrics }
    expect(item(config, 'config')).toMatchObject({ status: 'PASS', detail: 'valid' })
  })

  it.each([
    ['cache.memory null (createCache reads it as {})', { cache: { memory: null } }],
    ['cache.compression false', { cache: { compression: false } }],
    ['metrics.path null (answer wherever mounted)', { metrics: { path: null } }],
    ["sentry.dsn '' (no DSN, as initSentry takes it)", { sentry: { dsn: '' } }],
  ])('accepts %s', (_name, patch) => {
    expect(item({ ...GOOD_CONFIG, ...patch }, 'config')?.status).toBe('PASS')
  })

  it.each([
    ['a DSN without its key', { sentry: { dsn: 'https://o1.ingest.sentry.io/1' } }, 'sentry.dsn'],
    ['a metrics path without /', { metrics: { path: 'metrics' } }, 'metrics.path'],
    ['a metrics token under 16 characters', { metrics: { token: 'short' } }, 'metrics.token'],
    [
      'a metrics token with a leading space',
      { metrics: { token: ' metrics-token-0123456789' } },
      'metrics.token',
    ],
    ['cache.memory that is not an object', { cache: { memory: 5 } }, 'cache.memory'],
    ['cache.compression true', { cache: { compression: true } }, 'cache.compression'],
  ])('refuses %s, as the factory does, naming the field', (_name, patch, field) => {
    const detail = item({ ...GOOD_CONFIG, ...patch }, 'config')?.detail ?? ''
    expect(detail).toMatch(new RegExp(`(^|; )${field.replace('.', '\\.')}: `))
    expect(detail).not.toContain('short')
  })

  it('passes the metrics item on a token given in the config', () => {
    const config = { ...GOOD_CONFIG, metrics: { token: 'metrics-token-0123456789' } }
    const { METRICS_TOKEN: _, ...env } = GOOD_ENV
    const items = runDoctor({ env, config }).items
    expect(items.find((i) => i.id === 'metrics-token')).toMatchObject({
      status: 'PASS',
      detail: 'metrics.token set (config)',
    })
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
