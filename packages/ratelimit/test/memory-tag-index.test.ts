/**
 * The memory store's tag index (`run.syncTagged`, the limiter's check path): a key written through
 * it is the same key every other path reaches (`store.key(tag, part)` with `run`, `delete`,
 * eviction), for tags with characters that need escaping too, and one written by its full key is
 * found by a tagged check.
 */
import { memoryStore } from '@aikit/core'
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'
import { checkOp } from '../src/check-op.js'
import { limitKeyParts } from '../src/limiter.js'

const limits = [{ limit: 5, window: '1m' }] as const
const resolved = [{ algorithm: 'gcra', limit: 5, windowMs: 60_000 }] as const
/** Tags that need escaping, look like escapes, or are plain. */
const TAGS = ['u', 'a{b}c', '%7B', '50%', '{', '}', 'x:y', '%2', 'é{%}']

describe('memory store tag index', () => {
  it('a tagged check and a run on the built keys see one state, for every tag', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [...limits] })
    const [part] = limitKeyParts('rl', resolved)
    for (const tag of TAGS) {
      expect((await limiter.check(tag)).remaining).toBe(4)
      // The general path on the full key reads the state the tagged check wrote...
      const viaKey = await store.run(checkOp, [store.key(tag, part as string)], {
        limits: resolved,
        cost: 1,
        unblocked: true,
      })
      expect(viaKey.remaining).toBe(3)
      // ...and the tagged check reads what the general path wrote.
      expect((await limiter.check(tag)).remaining).toBe(2)
    }
    expect(store.stats().keys).toBe(TAGS.length)
  })

  it('a key written by its full key first is found by tagged checks (one place per key)', async () => {
    const store = memoryStore()
    const [part] = limitKeyParts('rl', resolved)
    await store.run(checkOp, [store.key('a{b}', part as string)], {
      limits: resolved,
      cost: 3,
      unblocked: true,
    })
    const limiter = createRateLimiter({ store, limits: [...limits] })
    expect((await limiter.check('a{b}')).remaining).toBe(1)
    expect(store.stats().keys).toBe(1)
  })

  it('a key that store.key does not build never aliases a tagged key', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [...limits] })
    const [part] = limitKeyParts('rl', resolved)
    await limiter.check('a%41')
    // store.key('a%41', part) escapes the `%`: this raw key is another key.
    const raw = `aikit:{a%41}:${part}`
    expect(raw).not.toBe(store.key('a%41', part as string))
    await store.set(raw, 'raw')
    expect(await store.get(raw)).toBe('raw')
    expect((await limiter.check('a%41')).remaining).toBe(3)
    expect(store.stats().keys).toBe(2)
  })

  it('reset, penalize and block reach the keys tagged checks wrote', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [...limits] })
    for (const tag of TAGS) {
      await limiter.check(tag, { cost: 4 })
      await limiter.reset(tag)
      expect((await limiter.check(tag)).remaining).toBe(4)
      await limiter.penalize(tag, 2)
      expect((await limiter.check(tag)).remaining).toBe(1)
    }
    await limiter.block('u', 60_000)
    expect(await limiter.check('u')).toMatchObject({ allowed: false, blocked: true })
    await limiter.unblock('u')
    expect((await limiter.check('u')).allowed).toBe(true)
  })

  it('the bound evicts tagged keys in LRU order, counts them, and an evicted key starts fresh', async () => {
    const store = memoryStore({ maxKeys: 3 })
    const limiter = createRateLimiter({ store, limits: [...limits] })
    for (const tag of ['k1', 'k2', 'k3']) await limiter.check(tag, { cost: 2 })
    await limiter.check('k1') // k1 is now the most recent: k2 goes first
    await limiter.check('k4')
    expect(store.stats()).toEqual({ keys: 3, evictions: 1 })
    expect((await limiter.check('k1')).remaining).toBe(1) // kept: 2 + 1 + 1 used
    expect((await limiter.check('k2')).remaining).toBe(4) // evicted: fresh
    expect(store.stats()).toEqual({ keys: 3, evictions: 2 })
  })

  it('an expired tagged key reads as fresh and is dropped', async () => {
    let now = 1_000_000
    const store = memoryStore({ now: () => now })
    const limiter = createRateLimiter({ store, limits: [{ limit: 2, window: 1_000 }] })
    await limiter.check('t', { cost: 2 })
    expect((await limiter.check('t')).allowed).toBe(false)
    now += 2_001 // past the state's expiry (2 windows)
    expect((await limiter.check('t')).remaining).toBe(1)
    expect(store.stats().keys).toBe(1)
  })

  it('a closed store rejects tagged checks like any other (the limiter falls back)', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [...limits], onStoreError: 'closed' })
    await limiter.check('u')
    await store.close()
    await expect(limiter.check('u')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })
})
