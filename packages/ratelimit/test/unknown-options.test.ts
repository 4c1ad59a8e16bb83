/**
 * Option keys the factories do not know are refused with an `InvalidOptionsError` naming the key
 * (with its path) and the option it most likely meant, instead of being ignored while the default
 * applies (a misspelt `window` or `maxAgeMs` would silently change what is limited). Every
 * documented option is still accepted: the `Required<…>` objects below stop compiling when an
 * option is added to a type, so its key list gets the new name too.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import {
  type BlockCacheOptions,
  createRateLimiter,
  type LimitOptions,
  type RateLimiterOptions,
  type RateLimitMiddlewareOptions,
  rateLimit,
} from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import type { RateLimitTierOptions } from '../src/middleware.js'

/** The InvalidOptionsError `fn` throws. */
function refusal(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

const limits = [{ limit: 5, window: '1m' }] as const

describe('createRateLimiter refuses unknown option keys', () => {
  it('a misspelt top-level option is named, with the option it meant', () => {
    const error = refusal(() => createRateLimiter({ limits, prefx: 'api' } as never))
    expect(error.field).toBe('prefx')
    expect(error.message).toContain('did you mean `prefix`')
  })

  it('a misspelt key of a limits entry is named with its index', () => {
    const error = refusal(() =>
      createRateLimiter({
        limits: [
          { limit: 5, window: '1m' },
          { limit: 9, windw: '1h' },
        ],
      } as never)
    )
    expect(error.field).toBe('limits[1].windw')
    expect(error.message).toContain('did you mean `limits[1].window`')
    expect(
      refusal(() =>
        createRateLimiter({ limits: [{ algoritm: 'token-bucket', ...limits[0] }] } as never)
      ).field
    ).toBe('limits[0].algoritm')
  })

  it('a misspelt blockCache option is named under blockCache', () => {
    const error = refusal(() => createRateLimiter({ limits, blockCache: { maxAge: 50 } } as never))
    expect(error.field).toBe('blockCache.maxAge')
    expect(error.message).toContain('did you mean `blockCache.maxAgeMs`')
  })

  it('an unknown key is refused even when its value is undefined', () => {
    expect(
      refusal(() => createRateLimiter({ limits, onStoreErorr: undefined } as never)).field
    ).toBe('onStoreErorr')
  })

  it('every documented option (limits entry and blockCache included) is accepted', () => {
    const limit: Required<LimitOptions> = { algorithm: 'sliding-window', limit: 5, window: '1m' }
    const blockCache: Required<BlockCacheOptions> = { maxKeys: 10, maxAgeMs: 100 }
    const options: Required<RateLimiterOptions> = {
      store: memoryStore(),
      limits: [limit],
      prefix: 'every',
      onStoreError: 'open',
      blockCache,
    }
    expect(createRateLimiter(options).limits).toEqual([
      { algorithm: 'sliding-window', limit: 5, windowMs: 60_000 },
    ])
  })
})

describe('rateLimit refuses unknown option keys', () => {
  it('a misspelt middleware option is named, with the option it meant', () => {
    const error = refusal(() => rateLimit({ limits, keyby: () => 'k' } as never))
    expect(error.field).toBe('keyby')
    expect(error.message).toContain('did you mean `keyBy`')
    expect(refusal(() => rateLimit({ limits, dryrun: true } as never)).field).toBe('dryrun')
  })

  it('a misspelt limiter option given to rateLimit is named too', () => {
    expect(refusal(() => rateLimit({ limits: [{ limit: 5, windos: '1m' }] } as never)).field).toBe(
      'limits[0].windos'
    )
    expect(refusal(() => rateLimit({ limits, blockCache: { maxkeys: 5 } } as never)).field).toBe(
      'blockCache.maxkeys'
    )
  })

  it("a misspelt key of unkeyed's { key } form is named under unkeyed", () => {
    const error = refusal(() => rateLimit({ limits, unkeyed: { kye: 'anon' } } as never))
    expect(error.field).toBe('unkeyed.kye')
    expect(error.message).toContain('did you mean `unkeyed.key`')
  })

  it("a misspelt key of a tier's limit is named with the tier's path, hint included", () => {
    const error = refusal(() =>
      rateLimit({
        tiers: { free: [{ limit: 5, window: '1m' }], pro: [{ limit: 50, windw: '1m' }] },
        tier: () => 'pro',
      } as never)
    )
    expect(error.field).toBe('tiers.pro.limits[0].windw')
    expect(error.message).toContain('did you mean `tiers.pro.limits[0].window`')
  })

  it('a misspelt tier option is named', () => {
    const error = refusal(() =>
      rateLimit({ tiers: { free: limits }, tier: () => 'free', defaultTeir: 'free' } as never)
    )
    expect(error.field).toBe('defaultTeir')
    expect(error.message).toContain('did you mean `defaultTier`')
  })

  it('every documented option is accepted, with limits, with tiers and with a limiter', () => {
    const middleware: Required<RateLimitMiddlewareOptions> = {
      keyBy: () => 'k',
      cost: 1,
      headers: 'both',
      dryRun: true,
      ipv6Prefix: 48,
      unkeyed: { key: 'anonymous' },
    }
    const limiterOptions: Required<RateLimiterOptions> = {
      store: memoryStore(),
      limits: [{ algorithm: 'gcra', limit: 5, window: '1m' }],
      prefix: 'every',
      onStoreError: 'closed',
      blockCache: { maxKeys: 10, maxAgeMs: 100 },
    }
    // `ipv6Prefix` groups the default key's addresses: not read beside `keyBy` (see ignored-options).
    const { keyBy, ...defaultKey } = middleware
    expect(typeof rateLimit({ ...defaultKey, ...limiterOptions })).toBe('function')
    const tiers: Required<Omit<RateLimitTierOptions, 'limiter' | 'limits'>> = {
      store: memoryStore(),
      prefix: 'tiers',
      onStoreError: 'memory',
      blockCache: false,
      tiers: { free: [{ limit: 5, window: '1m' }], pro: [{ limit: 50, window: '1m' }] },
      tier: () => 'pro',
      defaultTier: 'free',
    }
    expect(typeof rateLimit({ ...defaultKey, ...tiers })).toBe('function')
    const limiter = createRateLimiter({ limits })
    const { ipv6Prefix, ...ownKey } = middleware
    expect(typeof rateLimit({ ...ownKey, limiter })).toBe('function')
    expect(typeof rateLimit({ ...ownKey, ...limiterOptions })).toBe('function')
    expect([typeof keyBy, ipv6Prefix]).toEqual(['function', 48])
  })
})
