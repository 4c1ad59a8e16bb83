/**
 * One table for every public factory of @aikit/ratelimit (and the per-call options of
 * `limiter.check`): an unknown key, at the top and inside each nested option object, and a
 * wrong-typed value of each option, each throw InvalidOptionsError naming the field, at
 * construction (a per-call option: the call rejects before any store call). A valid configuration
 * of each factory still constructs.
 */
import { memoryStore } from '@aikit/core'
import { createRateLimiter, type LimitOptions, rateLimit } from '@aikit/ratelimit'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'

const limits: LimitOptions[] = [{ limit: 5, window: '1m' }]
const tiers = { free: limits, pro: [{ limit: 50, window: '1m' as const }] }
const tier = () => 'pro'
/** An object with a store's `run` only: not a Store (the limiter also needs `key`, `on`, …). */
const runOnly = { run: async () => undefined }

type Row = readonly [label: string, build: () => unknown, field: string]

const createRateLimiterRows: Row[] = [
  ['unknown key', () => createRateLimiter({ limits, prefx: 'a' } as never), 'prefx'],
  ['options not an object', () => createRateLimiter('limits' as never), 'options'],
  ['store: a string', () => createRateLimiter({ limits, store: 'redis' as never }), 'store'],
  ['store: run() only', () => createRateLimiter({ limits, store: runOnly as never }), 'store'],
  ['limits: a string', () => createRateLimiter({ limits: '5/m' as never }), 'limits'],
  ['limits: empty', () => createRateLimiter({ limits: [] }), 'limits'],
  ['limits[0]: a number', () => createRateLimiter({ limits: [5] as never }), 'limits[0]'],
  [
    'limits[0] unknown key',
    () => createRateLimiter({ limits: [{ limit: 5, window: '1m', burst: 2 }] as never }),
    'limits[0].burst',
  ],
  [
    'limits[0].limit: a string',
    () => createRateLimiter({ limits: [{ limit: '5' as never, window: '1m' }] }),
    'limits[0].limit',
  ],
  [
    'limits[0].window: a boolean',
    () => createRateLimiter({ limits: [{ limit: 5, window: true as never }] }),
    'limits[0].window',
  ],
  [
    'limits[0].algorithm: a number',
    () => createRateLimiter({ limits: [{ limit: 5, window: '1m', algorithm: 1 as never }] }),
    'limits[0].algorithm',
  ],
  ['prefix: a number', () => createRateLimiter({ limits, prefix: 5 as never }), 'prefix'],
  [
    'onStoreError: a boolean',
    () => createRateLimiter({ limits, onStoreError: true as never }),
    'onStoreError',
  ],
  [
    'blockCache: a string',
    () => createRateLimiter({ limits, blockCache: 'on' as never }),
    'blockCache',
  ],
  [
    'blockCache: true',
    () => createRateLimiter({ limits, blockCache: true as never }),
    'blockCache',
  ],
  [
    'blockCache unknown key',
    () => createRateLimiter({ limits, blockCache: { maxKey: 5 } as never }),
    'blockCache.maxKey',
  ],
  [
    'blockCache.maxKeys: a string',
    () => createRateLimiter({ limits, blockCache: { maxKeys: '5' as never } }),
    'blockCache.maxKeys',
  ],
  [
    'blockCache.maxAgeMs: a string',
    () => createRateLimiter({ limits, blockCache: { maxAgeMs: '1s' as never } }),
    'blockCache.maxAgeMs',
  ],
]

const rateLimitRows: Row[] = [
  ['unknown key', () => rateLimit({ limits, keyby: () => 'k' } as never), 'keyby'],
  ['options not an object', () => rateLimit(null as never), 'options'],
  ['keyBy: a string', () => rateLimit({ limits, keyBy: 'ip' as never }), 'keyBy'],
  ['cost: a string', () => rateLimit({ limits, cost: '1' as never }), 'cost'],
  ['headers: true', () => rateLimit({ limits, headers: true as never }), 'headers'],
  ['dryRun: a string', () => rateLimit({ limits, dryRun: 'yes' as never }), 'dryRun'],
  ['ipv6Prefix: a string', () => rateLimit({ limits, ipv6Prefix: '56' as never }), 'ipv6Prefix'],
  ['unkeyed: a number', () => rateLimit({ limits, unkeyed: 5 as never }), 'unkeyed'],
  [
    'unkeyed unknown key',
    () => rateLimit({ limits, unkeyed: { key: 'a', ttl: 1 } as never }),
    'unkeyed.ttl',
  ],
  [
    'unkeyed.key: a number',
    () => rateLimit({ limits, unkeyed: { key: 5 as never } }),
    'unkeyed.key',
  ],
  ['limiter: an object', () => rateLimit({ limiter: {} as never }), 'limiter'],
  ['store: a string', () => rateLimit({ limits, store: 'redis' as never }), 'store'],
  ['store: run() only', () => rateLimit({ limits, store: runOnly as never }), 'store'],
  ['limits: a string', () => rateLimit({ limits: '5/m' as never }), 'limits'],
  [
    'limits[0] unknown key',
    () => rateLimit({ limits: [{ limit: 5, window: '1m', burst: 2 }] as never }),
    'limits[0].burst',
  ],
  ['prefix: a number', () => rateLimit({ limits, prefix: 5 as never }), 'prefix'],
  [
    'onStoreError: a string',
    () => rateLimit({ limits, onStoreError: 'fail' as never }),
    'onStoreError',
  ],
  [
    'blockCache unknown key',
    () => rateLimit({ limits, blockCache: { max: 5 } as never }),
    'blockCache.max',
  ],
  ['tiers: a string', () => rateLimit({ tiers: 'free' as never, tier }), 'tiers'],
  ['tiers: an array', () => rateLimit({ tiers: [limits] as never, tier }), 'tiers'],
  [
    'tiers.free: a string',
    () => rateLimit({ tiers: { free: '5/m' as never }, tier }),
    'tiers.free.limits',
  ],
  [
    'tiers.free[0] unknown key',
    () => rateLimit({ tiers: { free: [{ limit: 5, window: '1m', burst: 1 }] as never }, tier }),
    'tiers.free.limits[0].burst',
  ],
  ['tier: a string', () => rateLimit({ tiers, tier: 'pro' as never }), 'tier'],
  [
    'defaultTier: a number',
    () => rateLimit({ tiers, tier, defaultTier: 1 as never }),
    'defaultTier',
  ],
  [
    'defaultTier: no such tier',
    () => rateLimit({ tiers, tier, defaultTier: 'gold' }),
    'defaultTier',
  ],
  [
    'store beside tiers: run() only',
    () => rateLimit({ tiers, tier, store: runOnly as never }),
    'store',
  ],
]

describe('createRateLimiter names an unknown key and each wrong-typed option', () => {
  it.each(createRateLimiterRows)('%s', (_label, build, field) => {
    expect(invalidField(build)).toBe(field)
  })
})

describe('rateLimit names an unknown key and each wrong-typed option', () => {
  it.each(rateLimitRows)('%s', (_label, build, field) => {
    expect(invalidField(build)).toBe(field)
  })
})

describe('limiter.check names an unknown or wrong-typed per-call option before any store call', () => {
  const rows: Array<readonly [label: string, options: unknown, field: string]> = [
    ['unknown key', { cots: 2 }, 'cots'],
    ['cost: a string', { cost: '2' }, 'cost'],
    ['options: a number', 2, 'options'],
  ]
  it.each(rows)('%s', async (_label, options, field) => {
    const store = memoryStore()
    let runs = 0
    const counted = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'run') {
          return (...args: Parameters<typeof store.run>) => {
            runs++
            return store.run(...args)
          }
        }
        return Reflect.get(target, name, receiver)
      },
    })
    const limiter = createRateLimiter({ store: counted, limits })
    await expect(limiter.check('u1', options as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field,
    })
    expect(runs).toBe(0)
    expect(limiter.stats().allowed + limiter.stats().denied).toBe(0)
  })
})

describe('valid configurations still construct', () => {
  it('each factory, with every option of the right type', async () => {
    const limiter = createRateLimiter({
      store: memoryStore(),
      limits: [{ algorithm: 'token-bucket', limit: 5, window: 60_000 }],
      prefix: 'ok',
      onStoreError: 'closed',
      blockCache: { maxKeys: 5, maxAgeMs: 100 },
    })
    expect((await limiter.check('u1', { cost: 2 })).remaining).toBe(3)
    expect((await limiter.check('u1', {})).remaining).toBe(2)
    expect(
      typeof rateLimit({
        limits,
        cost: () => 1,
        headers: 'both',
        dryRun: true,
        ipv6Prefix: 64,
        unkeyed: { key: 'anon' },
      })
    ).toBe('function')
    expect(
      typeof rateLimit({ tiers, tier, defaultTier: 'free', store: memoryStore(), prefix: 'tiers' })
    ).toBe('function')
    expect(typeof rateLimit({ limiter, keyBy: () => 'k', unkeyed: 'reject' })).toBe('function')
  })
})
