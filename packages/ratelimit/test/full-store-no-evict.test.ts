/**
 * A limiter on a full `memoryStore({ evict: false })`: the keys it holds are still served. Each op
 * also passes keys it only reads (a check's block key, a reservation's and a refund's reset
 * stamps) or deletes before writing (a reset's states); the store counted those as new keys and
 * refused a check, a reservation, its settle or a reset of a key it held (StoreUnavailableError,
 * reason 'full').
 */
import { memoryStore, StoreUnavailableError } from '@aikit/core'
import { type Algorithm, createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

const ALGORITHMS: Algorithm[] = ['gcra', 'fixed-window', 'sliding-window', 'token-bucket']

describe.each(ALGORITHMS)('%s on a full memoryStore({ evict: false })', (algorithm) => {
  /** A limiter whose store holds `u`'s state and is full of other live keys. */
  async function full() {
    const store = memoryStore({ maxKeys: 8, evict: false })
    const limiter = createRateLimiter({
      store,
      limits: [{ algorithm, limit: 100, window: '1h' }],
      // A store refusal is an error here, not a fallback answer.
      onStoreError: 'closed',
    })
    expect((await limiter.check('u', { cost: 10 })).remaining).toBe(90)
    for (let i = 0; store.stats().keys < 8; i++) await store.set(`filler:${i}`, 'x')
    // Full: a new key is refused.
    const refused = await limiter.check('new').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(StoreUnavailableError)
    return { store, limiter }
  }

  it('checks a key it holds', async () => {
    const { limiter } = await full()
    expect(await limiter.check('u', { cost: 5 })).toMatchObject({ allowed: true, remaining: 85 })
  })

  it('reserves on a key it holds, and settles the reservation', async () => {
    const { limiter } = await full()
    const hold = await limiter.reserve('u', 30)
    expect(hold).toMatchObject({ allowed: true })
    expect((await limiter.check('u', { cost: 0 })).remaining).toBe(60)
    await hold.settle(10)
    expect((await limiter.check('u', { cost: 0 })).remaining).toBe(80)
    expect(limiter.stats().adjustFailures).toBe(0)
  })

  it('resets a key it holds (its state makes room for the reset stamp)', async () => {
    const { store, limiter } = await full()
    const keys = store.stats().keys
    await limiter.reset('u')
    expect(store.stats().keys).toBe(keys)
    expect(limiter.stats().adjustFailures).toBe(0)
    // The state went (the stamp took its place): a new state needs room again.
    await store.delete('filler:0')
    expect((await limiter.check('u', { cost: 0 })).remaining).toBe(100)
  })
})
