/**
 * The blocked-key cache holds keys up to 256 characters only: keys come from clients (an API key
 * header), and a cached denial keeps its key whole, so 10,000 entries of any length let a client
 * pin megabytes per entry (the store itself keeps such a key as its digest). A longer denied key
 * is checked on the store every time, and still denied.
 */
import type { Store } from '@aikit/core'
import { memoryStore } from '@aikit/core'
import { createRateLimiter } from '@aikit/ratelimit'
import { heapAfterGc } from '@aikit/testing/heap'
import { describe, expect, it } from 'vitest'

/** A memory store presented as shared (as a Redis one: the blocked-key cache is on), counting runs. */
function sharedStore(): { store: Store; runs: () => number } {
  const m = memoryStore()
  let runs = 0
  const store = {
    ...m,
    local: false,
    run: (op, keys, input) => {
      runs++
      return m.run(op, keys, input)
    },
  } as Store
  return { store, runs: () => runs }
}

describe('blocked-key cache: long keys', () => {
  it('keeps no copy of long denied keys', async () => {
    const limiter = createRateLimiter({
      store: sharedStore().store,
      limits: [{ limit: 1, window: '1m' }],
    })
    const before = heapAfterGc()
    // 300 keys of 64 KiB, each denied: ~19 MB if each were cached whole.
    for (let i = 0; i < 300; i++) {
      const key = JSON.parse(`"${'a'.repeat(65_536)}${i}"`) as string
      await limiter.check(key)
      expect((await limiter.check(key)).allowed).toBe(false)
    }
    expect(heapAfterGc() - before).toBeLessThan(5 * 1024 * 1024)
  })

  it('asks the store for a denied key over 256 characters; caches one of 256', async () => {
    const { store, runs } = sharedStore()
    const limiter = createRateLimiter({
      store,
      limits: [{ limit: 1, window: '1m' }],
      blockCache: { maxAgeMs: 60_000 }, // the whole wait: however slow the machine, cached
    })
    const short = 'k'.repeat(256)
    const long = 'k'.repeat(257)
    for (const key of [short, long]) {
      expect((await limiter.check(key)).allowed).toBe(true)
      expect((await limiter.check(key)).allowed).toBe(false)
    }
    const before = runs()
    const again = await limiter.check(short)
    expect(again).toMatchObject({ allowed: false, cached: true })
    expect(runs()).toBe(before)
    for (let i = 0; i < 3; i++) {
      const denied = await limiter.check(long)
      expect(denied.allowed).toBe(false)
      expect(denied.cached).toBeUndefined()
      expect(denied.retryAfterMs).toBeGreaterThan(0)
    }
    expect(runs()).toBe(before + 3)
  })
})
