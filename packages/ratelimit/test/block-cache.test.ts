/**
 * The in-process blocked-key cache: a flood of denied checks for one key costs no Redis calls after
 * the first denial, for the same cost only; it is off for memory stores and can be disabled.
 */
import type { Store } from '@aikit/core'
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/** Wraps a store, counting `run` calls. */
function counting(store: Store): { store: Store; runs: () => number } {
  let runs = 0
  return {
    store: {
      ...store,
      run: (op, keys, input) => {
        runs++
        return store.run(op, keys, input)
      },
    } as Store,
    runs: () => runs,
  }
}

async function redis(): Promise<Store> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  return redisStore(client, { commandTimeoutMs: 2_000 })
}

describe('blocked-key cache', () => {
  it('1,000 denied checks of one key make one store call', async () => {
    const { store, runs } = counting(await redis())
    const limiter = createRateLimiter({
      store,
      limits: [{ limit: 5, window: '1m' }],
      blockCache: { maxAgeMs: 60_000 }, // the whole wait: however slow the machine, one call
    })
    await limiter.check('flood', { cost: 5 })
    const before = runs()
    const results = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => (i === 0 ? limiter.check('flood') : undefined))
    )
    expect(results[0]?.allowed).toBe(false)
    const flood = await Promise.all(Array.from({ length: 999 }, () => limiter.check('flood')))
    expect(flood.every((r) => !r.allowed && r.cached === true && r.retryAfterMs > 0)).toBe(true)
    expect(runs() - before).toBe(1)
    expect(limiter.stats()).toMatchObject({ denied: 1000, cachedDenials: 999, allowed: 1 })
    // other keys and other costs still go to the store
    expect((await limiter.check('someone-else')).allowed).toBe(true)
    expect((await limiter.check('flood', { cost: 0 })).cached).toBeUndefined()
    expect(runs() - before).toBe(3)
  })

  it('a release on this instance clears the cached denial at once', async () => {
    const limiter = createRateLimiter({
      store: await redis(),
      limits: [{ limit: 10, window: '1h' }],
    })
    const r = await limiter.reserve('k', 10)
    expect((await limiter.check('k')).allowed).toBe(false)
    await r.release()
    expect((await limiter.check('k')).allowed).toBe(true)
  })

  it('blockCache: false and memory stores always ask the store', async () => {
    for (const base of [await redis(), memoryStore()]) {
      const { store, runs } = counting(base)
      const limiter = createRateLimiter({
        store,
        limits: [{ limit: 1, window: '1m' }],
        ...(base.local ? {} : { blockCache: false as const }),
      })
      for (let i = 0; i < 10; i++) await limiter.check('k')
      expect(runs()).toBe(10)
      expect(limiter.stats().cachedDenials).toBe(0)
    }
  })

  it('validates blockCache', () => {
    const limits = [{ limit: 1, window: '1m' }] as const
    expect(() => createRateLimiter({ limits, blockCache: { maxKeys: 0 } })).toThrow(
      expect.objectContaining({ field: 'blockCache.maxKeys' })
    )
    expect(() => createRateLimiter({ limits, blockCache: 'yes' as never })).toThrow(
      expect.objectContaining({ field: 'blockCache' })
    )
    for (const maxAgeMs of [0, -1, 1.5, Number.NaN, '1s', 2 ** 53]) {
      expect(() =>
        createRateLimiter({ limits, blockCache: { maxAgeMs: maxAgeMs as never } })
      ).toThrow(
        expect.objectContaining({
          name: 'InvalidOptionsError',
          code: 'INVALID_OPTIONS',
          field: 'blockCache.maxAgeMs',
        })
      )
    }
    expect(() => createRateLimiter({ limits, blockCache: { maxAgeMs: 1 } })).not.toThrow()
  })
})

describe('cached denials are served for at most blockCache.maxAgeMs', () => {
  const limits = [{ limit: 10, window: '1h' }] as const
  const realNow = Date.now.bind(Date)
  const realElapsed = performance.now.bind(performance)
  /**
   * Lets `ms` pass at once for this process: its wall clock and its elapsed-time clock
   * (`performance.now()`, the cache's clock) move `ms` ahead; Redis keeps its own.
   */
  const skipAhead = (ms: number) => {
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + ms)
    vi.spyOn(performance, 'now').mockImplementation(() => realElapsed() + ms)
  }
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('an unblock on another instance lets the key through here after the default 1000 ms', async () => {
    const a = createRateLimiter({ store: await redis(), limits })
    const b = createRateLimiter({ store: await redis(), limits })
    await a.block('mallory', 3_600_000)
    expect(await b.check('mallory')).toMatchObject({ allowed: false, blocked: true })
    // Remembered: a flood of checks of the key costs b no Redis call...
    expect(await b.check('mallory')).toMatchObject({ allowed: false, cached: true })
    await a.unblock('mallory')
    // ...the store holds no block any more: a is allowed at once...
    expect((await a.check('mallory', { cost: 0 })).allowed).toBe(true)
    // ...and b asks the store again once its entry is 1000 ms old, however long the block was.
    skipAhead(1000)
    const afterUnblock = await b.check('mallory')
    expect(afterUnblock.blocked).toBeUndefined()
    expect(afterUnblock.cached).toBeUndefined()
    expect(afterUnblock.allowed).toBe(true)
  })

  it('a reset on another instance lets the key through here within maxAgeMs', async () => {
    const a = createRateLimiter({ store: await redis(), limits })
    const b = createRateLimiter({ store: await redis(), limits, blockCache: { maxAgeMs: 20 } })
    await a.block('trudy', 3_600_000)
    expect(await b.check('trudy')).toMatchObject({ allowed: false, blocked: true })
    await a.reset('trudy')
    expect((await a.check('trudy', { cost: 0 })).remaining).toBe(10)
    await new Promise<void>((resolve) => setTimeout(resolve, 30))
    expect(await b.check('trudy')).toMatchObject({ allowed: true, remaining: 9 })
  })

  it('a blocked key still costs one store call per maxAgeMs, with the true wait', async () => {
    const { store, runs } = counting(await redis())
    const limiter = createRateLimiter({ store, limits })
    await limiter.block('flood', 3_600_000)
    const before = runs()
    expect(await limiter.check('flood')).toMatchObject({ allowed: false, blocked: true })
    for (let i = 0; i < 100; i++) await limiter.check('flood')
    expect(runs() - before).toBe(1)
    skipAhead(1000)
    const asked = await limiter.check('flood')
    expect(asked).toMatchObject({ allowed: false, blocked: true })
    expect(asked.cached).toBeUndefined()
    expect(asked.retryAfterMs).toBeGreaterThan(3_500_000)
    const cached = await Promise.all(Array.from({ length: 100 }, () => limiter.check('flood')))
    expect(cached.every((r) => r.cached === true && r.blocked === true)).toBe(true)
    expect(runs() - before).toBe(2)
    expect(limiter.stats()).toMatchObject({ denied: 202, cachedDenials: 200 })
  })
})

describe('decision events', () => {
  it('every result, cached denials included; a throwing listener changes nothing', async () => {
    const limiter = createRateLimiter({
      store: await redis(),
      limits: [{ limit: 2, window: '1m' }],
    })
    const seen: boolean[] = []
    const off = limiter.on('decision', (r) => seen.push(r.allowed))
    limiter.on('decision', () => {
      throw new Error('a broken metrics hook')
    })
    for (let i = 0; i < 4; i++) await limiter.check('k')
    expect(seen).toEqual([true, true, false, false])
    expect(limiter.stats()).toMatchObject({ allowed: 2, denied: 2, cachedDenials: 1 })
    off()
    await limiter.check('k')
    expect(seen).toHaveLength(4)
  })
})
