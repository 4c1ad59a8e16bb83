/**
 * Per-entity tag times (`user:<id>`) stay bounded over a long run whatever lifetimes entries had
 * before: a tag time is kept only while something that can still be served (a memory entry before
 * its `staleUntil`, an entry being written, a store read being checked) was created at or before
 * it, so one long-lived entry (deleted since, or kept but not carrying the tag) does not switch
 * pruning off for good. Pruning never drops a time such an entry still needs.
 */
import { createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { describe, expect, it } from 'vitest'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

type Internals = { engine: { tagTimes: Map<string, number> } }
const tagTimes = (cache: unknown) => (cache as Internals).engine.tagTimes

/**
 * Invalidates `count` per-entity tags, each carried by one short-lived entry, 1 ms apart; `each`
 * runs between them (a read that keeps an entry in the memory tier's recent end).
 */
async function churn(
  cache: ReturnType<typeof createCache>,
  advance: (ms: number) => void,
  count: number,
  each: () => void = () => undefined
) {
  for (let i = 0; i < count; i++) {
    each()
    await cache.set(`profile:${i}`, { i }, { tags: [`user:${i}`] })
    await cache.invalidateTags([`user:${i}`])
    advance(1)
  }
}

describe('tag-time pruning after a long-lived entry', () => {
  it('one long-lived entry, deleted long ago, does not disable tag-time pruning for good', async () => {
    const c = clock()
    const cache = createCache({ now: c.now, ttl: 1000, jitter: 0, memory: { maxEntries: 100 } })
    // A single "forever" entry (a config blob), removed again right away.
    await cache.set('config', { v: 1 }, { ttl: Number.MAX_SAFE_INTEGER })
    await cache.delete('config')
    await churn(cache, c.advance, 5000)
    // No memory entry older than ~1 s exists (maxEntries 100, ttl 1 s): the per-entity tag times
    // of older invalidations can no longer matter.
    expect(tagTimes(cache).size).toBeLessThan(3000)
  })

  it('a live "forever" entry keeps only the tag times it can be invalidated by', async () => {
    const c = clock()
    const cache = createCache({ now: c.now, ttl: 1000, jitter: 0, memory: { maxEntries: 100 } })
    await cache.set('config', { v: 1 }, { ttl: Number.MAX_SAFE_INTEGER, tags: ['config'] })
    let served = 0
    await churn(cache, c.advance, 5000, () => {
      if (cache.peek('config') !== undefined) served++
    })
    expect(served).toBe(5000)
    expect(tagTimes(cache).size).toBeLessThan(3000)
  })

  it('an invalidated long-lived entry stays invalid through every prune', async () => {
    const c = clock()
    const cache = createCache({ now: c.now, ttl: 1000, jitter: 0, memory: { maxEntries: 100 } })
    await cache.set('config', { v: 1 }, { ttl: Number.MAX_SAFE_INTEGER, tags: ['config'] })
    c.advance(1)
    await cache.invalidateTags(['config'])
    let served = 0
    // Each read keeps the entry in the memory tier (an LRU read), where it stays invalid.
    await churn(cache, c.advance, 5000, () => {
      if (cache.peek('config') !== undefined) served++
    })
    expect(served).toBe(0)
    expect(await cache.getOrSet('config', () => ({ v: 2 }))).toEqual({ v: 2 })
  })

  it('an invalidation while a fetch runs still outdates its entry after prunes', async () => {
    const c = clock()
    const cache = createCache({ now: c.now, ttl: 60_000, jitter: 0, memory: { maxEntries: 100 } })
    let finish: (value: string) => void = () => undefined
    const filling = cache.getOrSet('k', () => new Promise<string>((r) => (finish = r)), {
      tags: ['user:x'],
    })
    await new Promise((r) => setTimeout(r, 0))
    c.advance(1)
    await cache.invalidateTags(['user:x'])
    c.advance(5000)
    await churn(cache, c.advance, 5000)
    finish('read before the invalidation')
    expect(await filling).toBe('read before the invalidation')
    expect(cache.peek('k')).toBeUndefined()
  })

  it('a store read whose tag read a prune overlapped is checked again', async () => {
    const c = clock(1_000_000_000)
    const shared = memoryStore({ now: c.now })
    const a = createCache({ store: shared, now: c.now, jitter: 0 })
    await a.set('k', 'before-invalidation', { ttl: 3_600_000, tags: ['user:1', 'team:1'] })
    c.advance(1000)
    await a.invalidateTags(['user:1'])
    c.advance(1000)
    // B learns user:1's time, then reads k while the GET of team:1's time is slow; meanwhile it
    // invalidates many per-entity tags (prunes that drop user:1's time: nothing in B needs it).
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const slow: Store = {
      ...shared,
      key: shared.key.bind(shared),
      get: async (key: string) => {
        if (key.includes('team:1')) await gate
        return shared.get(key)
      },
    }
    const b = createCache({ store: slow, now: c.now, jitter: 0, memory: { maxEntries: 100 } })
    await b.set('other', 'x', { ttl: 60_000, tags: ['user:1'] })
    expect(await b.get('other')).toBe('x')
    c.advance(5000)
    const read = b.get('k')
    await new Promise((r) => setTimeout(r, 0))
    await churn(b, c.advance, 3000)
    release()
    expect(await read).toBeUndefined()
  })
})
