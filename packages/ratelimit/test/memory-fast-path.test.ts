/**
 * The memory store's fast check path (synchronous `run.sync`, block key skipped on an in-process
 * store nobody blocked on) answers exactly as the general path does.
 */
import { memoryStore, type Store } from '@aikit/core'
import { createRateLimiter } from '@aikit/ratelimit'
import { describe, expect, it } from 'vitest'

const limits = [{ limit: 3, window: '1m' }] as const

describe('memory store fast path', () => {
  it("a block set by one limiter denies another limiter's checks on the same store", async () => {
    const store = memoryStore()
    const a = createRateLimiter({ store, limits: [...limits] })
    const b = createRateLimiter({ store, limits: [...limits] })
    expect((await b.check('u')).allowed).toBe(true)
    await a.block('u', 60_000)
    expect(await b.check('u')).toMatchObject({ allowed: false, blocked: true })
    expect((await b.check('v')).allowed).toBe(true)
    await b.unblock('u')
    expect((await b.check('u')).allowed).toBe(true)
  })

  it('a block held by the fallback while the store is down is honoured by degraded checks', async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [...limits] })
    expect((await limiter.check('u')).allowed).toBe(true)
    await store.close()
    await limiter.block('u', 60_000)
    expect(await limiter.check('u')).toMatchObject({
      allowed: false,
      blocked: true,
      degraded: true,
    })
  })

  it('a wrapper replacing run is always called (run.sync is only used on the store itself)', async () => {
    const inner = memoryStore()
    let runs = 0
    const store: Store = {
      ...inner,
      run: (op, keys, input) => {
        runs++
        return inner.run(op, keys, input)
      },
    }
    const limiter = createRateLimiter({ store, limits: [...limits] })
    for (let i = 0; i < 4; i++) await limiter.check('u')
    expect(runs).toBe(4)
    expect(limiter.stats()).toMatchObject({ allowed: 3, denied: 1 })
  })

  it('counts and reports every decision, cost 1 and other costs alike', async () => {
    const limiter = createRateLimiter({ limits: [...limits] })
    const seen: boolean[] = []
    limiter.on('decision', (r) => seen.push(r.allowed))
    const results = [
      await limiter.check('u'),
      await limiter.check('u', { cost: 2 }),
      await limiter.check('u'),
      await limiter.check('u', { cost: 0 }),
    ]
    expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
      [true, 2],
      [true, 0],
      [false, 0],
      [true, 0],
    ])
    expect(seen).toEqual([true, true, false, true])
    expect(limiter.stats()).toMatchObject({ allowed: 3, denied: 1 })
  })

  it('an invalid key is still rejected, naming key', async () => {
    const limiter = createRateLimiter({ limits: [...limits] })
    await expect(limiter.check('')).rejects.toMatchObject({ field: 'key' })
  })
})
