/**
 * `rateLimit` options that one way of giving the limiter does not read are refused in that mode,
 * naming the ignored field, instead of being accepted and dropped: a `store` or `prefix` beside a
 * ready `limiter` (that limiter keeps its own: the app thinks its limits live in Redis while they
 * are per process), `limiter` / `limits` beside `tiers`, `tier` / `defaultTier` without `tiers`,
 * and `ipv6Prefix` beside a `keyBy` (only the default key groups IPv6 addresses: the app thinks
 * clients are grouped by /64 while every address has its own bucket). `undefined` counts as absent.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

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
const tiers = { free: limits, pro: [{ limit: 50, window: '1m' }] } as const
const tier = () => 'pro'

describe('rateLimit refuses options its mode would ignore', () => {
  it.each([
    ['store', memoryStore()],
    ['prefix', 'api'],
    ['onStoreError', 'closed'],
    ['blockCache', false],
  ] as const)('%s beside a ready limiter is named', (field, value) => {
    const limiter = createRateLimiter({ limits })
    const error = refusal(() => rateLimit({ limiter, [field]: value } as never))
    expect(error.field).toBe(field)
    expect(error.message).toContain('limiter')
    expect(error.message).toContain('createRateLimiter')
  })

  it('limiter or limits beside tiers is named', () => {
    const limiter = createRateLimiter({ limits })
    expect(refusal(() => rateLimit({ tiers, tier, limiter } as never)).field).toBe('limiter')
    const error = refusal(() => rateLimit({ tiers, tier, limits } as never))
    expect(error.field).toBe('limits')
    expect(error.message).toContain('tiers')
  })

  it('tier or defaultTier without tiers is named', () => {
    const limiter = createRateLimiter({ limits })
    expect(refusal(() => rateLimit({ limits, tier } as never)).field).toBe('tier')
    expect(refusal(() => rateLimit({ limiter, defaultTier: 'pro' } as never)).field).toBe(
      'defaultTier'
    )
    expect(refusal(() => rateLimit({ limits, tier } as never)).message).toContain('tiers')
  })

  it('ipv6Prefix beside a keyBy is named', () => {
    const error = refusal(() => rateLimit({ limits, keyBy: () => 'k', ipv6Prefix: 64 } as never))
    expect(error.field).toBe('ipv6Prefix')
    expect(error.message).toContain('keyBy')
  })

  it('an option set to undefined is absent, not ignored', () => {
    const limiter = createRateLimiter({ limits })
    const options = {
      limiter,
      store: undefined,
      prefix: undefined,
      onStoreError: undefined,
      blockCache: undefined,
      limits: undefined,
      tier: undefined,
      defaultTier: undefined,
      keyBy: () => 'k',
      ipv6Prefix: undefined,
    }
    expect(typeof rateLimit(options as never)).toBe('function')
    expect(typeof rateLimit({ tiers, tier, limiter: undefined, limits: undefined })).toBe(
      'function'
    )
  })

  it('every option each mode reads is still accepted together', () => {
    const limiter = createRateLimiter({ limits })
    const middleware = { cost: 2, headers: 'both', dryRun: true, unkeyed: 'reject' } as const
    expect(typeof rateLimit({ ...middleware, limiter, keyBy: () => 'k' })).toBe('function')
    const shared = {
      store: memoryStore(),
      prefix: 'api',
      onStoreError: 'open',
      blockCache: { maxKeys: 5, maxAgeMs: 100 },
    } as const
    expect(typeof rateLimit({ ...middleware, ...shared, limits, ipv6Prefix: 64 })).toBe('function')
    expect(
      typeof rateLimit({
        ...middleware,
        ...shared,
        tiers,
        tier,
        defaultTier: 'free',
        ipv6Prefix: 48,
      })
    ).toBe('function')
  })
})
