/**
 * `rateLimit`'s three ways of giving the limiter (a ready `limiter`, the `createRateLimiter`
 * options, `tiers`) as the compiler sees them: every mix the middleware refuses at runtime does
 * not type-check either (`@ts-expect-error`, checked by `tsc -p tsconfig.check.json`), and every
 * mix it documents as valid, the README's examples included, type-checks and constructs.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import { createRateLimiter, type RateLimitOptions, rateLimit } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

const limits = [{ limit: 5, window: '1m' }] as const
const tiers = { free: limits, pro: [{ limit: 50, window: '1m' }] } as const
const tier = () => 'pro'
const keyBy = () => 'k'
const store = memoryStore()
const limiter = createRateLimiter({ limits })

/** Runs `make`, which must throw an InvalidOptionsError naming `field`. */
function refused(field: string, make: () => unknown): void {
  expect(make).toThrow(InvalidOptionsError)
  try {
    make()
  } catch (error) {
    expect((error as InvalidOptionsError).field).toBe(field)
  }
}

describe('rateLimit option modes, typed as they are read', () => {
  it('a ready limiter: the createRateLimiter options beside it do not type-check', () => {
    // @ts-expect-error store is not read beside a ready limiter
    refused('store', () => rateLimit({ limiter, store }))
    // @ts-expect-error prefix is not read beside a ready limiter
    refused('prefix', () => rateLimit({ limiter, prefix: 'api' }))
    // @ts-expect-error onStoreError is not read beside a ready limiter
    refused('onStoreError', () => rateLimit({ limiter, onStoreError: 'closed' }))
    // @ts-expect-error blockCache is not read beside a ready limiter
    refused('blockCache', () => rateLimit({ limiter, blockCache: false }))
    // @ts-expect-error limits beside a ready limiter
    refused('limiter', () => rateLimit({ limiter, limits }))
  })

  it('tiers: limiter or limits beside them do not type-check', () => {
    // @ts-expect-error limiter is not read beside tiers
    refused('limiter', () => rateLimit({ tiers, tier, limiter }))
    // @ts-expect-error limits are not read beside tiers
    refused('limits', () => rateLimit({ tiers, tier, limits }))
  })

  it('tier or defaultTier without tiers do not type-check', () => {
    // @ts-expect-error tier is only read with tiers
    refused('tier', () => rateLimit({ limits, tier }))
    // @ts-expect-error defaultTier is only read with tiers
    refused('defaultTier', () => rateLimit({ limits, defaultTier: 'pro' }))
    // @ts-expect-error tier is only read with tiers
    refused('tier', () => rateLimit({ limiter, tier }))
    // @ts-expect-error defaultTier is only read with tiers
    refused('defaultTier', () => rateLimit({ limiter, defaultTier: 'pro' }))
  })

  it('ipv6Prefix beside keyBy does not type-check, in any mode', () => {
    // @ts-expect-error ipv6Prefix is only read by the default key
    refused('ipv6Prefix', () => rateLimit({ limits, keyBy, ipv6Prefix: 64 }))
    // @ts-expect-error ipv6Prefix is only read by the default key
    refused('ipv6Prefix', () => rateLimit({ limiter, keyBy, ipv6Prefix: 64 }))
    // @ts-expect-error ipv6Prefix is only read by the default key
    refused('ipv6Prefix', () => rateLimit({ tiers, tier, keyBy, ipv6Prefix: 64 }))
  })

  it('tiers without a tier function does not type-check', () => {
    // @ts-expect-error tier is required with tiers
    refused('tier', () => rateLimit({ tiers }))
  })

  it('every valid mix type-checks and constructs', () => {
    const middleware = {
      cost: (_ctx: unknown) => 2,
      headers: 'both',
      dryRun: true,
      unkeyed: { key: 'anonymous' },
    } as const
    const shared = {
      store,
      prefix: 'api',
      onStoreError: 'open',
      blockCache: { maxKeys: 5, maxAgeMs: 100 },
    } as const
    const valid: RateLimitOptions[] = [
      { limits },
      { ...middleware, ...shared, limits, ipv6Prefix: 64 },
      { ...middleware, ...shared, limits, keyBy },
      { limiter },
      { ...middleware, limiter, ipv6Prefix: 48 },
      { ...middleware, limiter, keyBy },
      { tiers, tier },
      { ...middleware, ...shared, tiers, tier, defaultTier: 'free', ipv6Prefix: 48 },
      { ...middleware, ...shared, tiers, tier, defaultTier: 'free', keyBy },
      // Set to undefined counts as not given.
      { limiter, store: undefined, limits: undefined, tier: undefined, keyBy },
      { tiers, tier, limiter: undefined, limits: undefined },
    ]
    for (const options of valid) expect(typeof rateLimit(options)).toBe('function')
  })

  it("the README's examples type-check and construct", () => {
    expect(typeof rateLimit({ limits: [{ limit: 60, window: '1m' }] })).toBe('function')
    expect(typeof rateLimit({ limiter, cost: (_ctx) => 1, headers: 'both' })).toBe('function')
    const plans = { of: async (_subject: unknown): Promise<string | undefined> => undefined }
    expect(
      typeof rateLimit({
        store,
        tiers: {
          free: [{ limit: 10, window: '1m' }],
          pro: [
            { limit: 100, window: '1m' },
            { algorithm: 'fixed-window', limit: 20_000, window: '1d' },
          ],
        },
        tier: async (ctx) => (await plans.of(ctx.state.subject)) ?? 'free',
      })
    ).toBe('function')
    // docs/production-guide.md and the examples' mixes.
    expect(
      typeof rateLimit({
        store,
        limits: [
          { limit: 20, window: '1m' },
          { limit: 500, window: '1d' },
        ],
      })
    ).toBe('function')
    expect(
      typeof rateLimit({
        limiter,
        keyBy: (ctx) =>
          ctx.ip ?? (typeof ctx.state.subject === 'string' ? ctx.state.subject : undefined),
      })
    ).toBe('function')
    expect(
      typeof rateLimit({ limits, keyBy: (ctx) => ctx.header('x-rate-key'), headers: false })
    ).toBe('function')
  })
})
