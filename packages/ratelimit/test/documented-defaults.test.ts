/**
 * The defaults README.md's `createRateLimiter` option table and middleware list state, observed
 * through the public API with the option left out: `algorithm` `'gcra'`, `prefix` `'rl'`, `store`
 * `memoryStore()`, `onStoreError` `'memory'`, `blockCache` `{ maxKeys: 10_000, maxAgeMs: 1000 }`,
 * a check's `cost` 1, and the middleware's `cost` 1, `dryRun` false and `unkeyed` `'allow'`. A
 * user tunes production from these numbers.
 */
import { memoryStore, type Store, StoreUnavailableError } from '@aikit/core'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TestContext } from './test-context.js'

/** A memory store that says it is shared (as `redisStore` does), counting `run` calls and keys. */
function remote(): { store: Store; runs: () => number; keys: string[] } {
  const inner = memoryStore()
  const keys: string[] = []
  let runs = 0
  const store = {
    ...inner,
    local: false,
    run: ((op, k, input) => {
      runs++
      keys.push(...k)
      return inner.run(op, k, input)
    }) as Store['run'],
  } as Store
  return { store, runs: () => runs, keys }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('createRateLimiter defaults', () => {
  it("runs GCRA under the prefix 'rl' on a per-process memoryStore()", async () => {
    const limiter = createRateLimiter({ limits: [{ limit: 3, window: '1s' }] })
    expect(limiter.store.kind).toBe('memory')
    expect(limiter.store.local).toBe(true)
    const { store, keys } = remote()
    await createRateLimiter({ store, limits: [{ limit: 3, window: '1s' }] }).check('u')
    expect(keys[0]).toBe(store.key('u', 'rl:gcra:3:1000'))
  })

  it('consumes 1 unit per check (cost 1)', async () => {
    const limiter = createRateLimiter({ limits: [{ limit: 3, window: '1m' }] })
    expect((await limiter.check('u')).remaining).toBe(2)
    expect((await limiter.check('u')).remaining).toBe(1)
  })

  it("checks on a local memory fallback while the store is down (onStoreError 'memory')", async () => {
    const down = {
      ...memoryStore(),
      local: false,
      run: () => Promise.reject(new StoreUnavailableError('circuit-open')),
    } as Store
    const limiter = createRateLimiter({ store: down, limits: [{ limit: 1, window: '1m' }] })
    expect(await limiter.check('u')).toMatchObject({
      allowed: true,
      degraded: true,
      reason: 'store-error',
    })
    expect(await limiter.check('u')).toMatchObject({ allowed: false, degraded: true })
  })

  it('serves a denial from the blocked-key cache for 1000 ms (blockCache.maxAgeMs)', async () => {
    // The cache times its entries on the elapsed-time clock (`performance.now()`).
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
    const { store, runs } = remote()
    const limiter = createRateLimiter({ store, limits: [{ limit: 1, window: '1h' }] })
    await limiter.check('u')
    expect((await limiter.check('u')).allowed).toBe(false)
    const asked = runs()
    vi.advanceTimersByTime(999)
    expect(await limiter.check('u')).toMatchObject({ allowed: false, cached: true })
    expect(runs()).toBe(asked)
    vi.advanceTimersByTime(1)
    expect((await limiter.check('u')).cached).toBeUndefined()
    expect(runs()).toBe(asked + 1)
  })

  it('remembers the denials of 10 000 keys (blockCache.maxKeys), the oldest out first', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
    const { store, runs } = remote()
    const limiter = createRateLimiter({ store, limits: [{ limit: 1, window: '1h' }] })
    for (let i = 0; i <= 10_000; i++) await limiter.check(`k${i}`)
    for (let i = 0; i < 10_000; i++) await limiter.check(`k${i}`) // denied, now cached
    const asked = runs()
    expect((await limiter.check('k1')).cached).toBe(true)
    expect(runs()).toBe(asked)
    await limiter.check('k10000') // the 10 001st denial: k0, the oldest, goes
    expect((await limiter.check('k0')).cached).toBeUndefined()
    expect(runs()).toBe(asked + 2)
  })
})

describe('rateLimit middleware defaults', () => {
  async function send(mw: ReturnType<typeof rateLimit>, remote?: string) {
    const ctx = new TestContext({ remote: remote ?? null })
    await ctx.run(mw)
    return { status: ctx.written?.status, passed: ctx.downstreamCalls === 1 }
  }

  it('charges 1 per request and denies past the limit (cost 1, dryRun false)', async () => {
    const mw = rateLimit({ limits: [{ limit: 2, window: '1m' }] })
    expect((await send(mw, '192.0.2.1')).passed).toBe(true)
    expect((await send(mw, '192.0.2.1')).passed).toBe(true)
    expect(await send(mw, '192.0.2.1')).toEqual({ status: 429, passed: false })
  })

  it("passes a request without a key through unchecked (unkeyed 'allow')", async () => {
    const mw = rateLimit({ limits: [{ limit: 1, window: '1m' }], keyBy: () => undefined })
    for (let i = 0; i < 3; i++) expect((await send(mw)).passed).toBe(true)
    expect(mw.stats()).toEqual({ checked: 0, unkeyed: 3 })
  })
})
