/**
 * A change to a key (delete, set, tag invalidation) made while a fill of it is in flight: the fill's
 * data was read before the change, so calls issued after the change never join it and its entry is
 * never kept as fresh. And `refresh: true` joins only a running fetch, never a store-tier read.
 * Shared `memoryStore()` instances stand in for Redis (the same ops run as their JS twins).
 */
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'

/** A promise with its resolve function, to order the steps of a test without sleeping. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * A fetcher that reads `db()` when it is called, then answers when `slow` opens (a slow query).
 * `read` resolves once it has read (with a store, the fetcher runs after the lock round trip).
 */
function slowRead<T>(
  db: () => T,
  slow: Promise<void>
): { fetcher: () => Promise<T>; read: Promise<void> } {
  const read = gate()
  return {
    read: read.promise,
    fetcher: async () => {
      const row = db()
      read.open()
      await slow
      return row
    },
  }
}

describe('refresh: true joins a running fetch only', () => {
  it('never answers with the stored value another call is still reading', async () => {
    const shared = memoryStore()
    await createCache({ store: shared }).set('price', 'old')
    // A second instance: its memory is empty, so a plain call reads the store tier.
    const b = createCache({ store: shared })
    const fetched: string[] = []
    const plain = b.getOrSet('price', () => {
      fetched.push('plain')
      return 'new'
    })
    // refresh = no-cache: "Skip reading: always fetch (still single-flight) and store the result".
    const refreshed = b.getOrSet(
      'price',
      () => {
        fetched.push('refresh')
        return 'new'
      },
      { refresh: true }
    )
    expect(await plain).toBe('old')
    expect(await refreshed).toBe('new')
    expect(fetched).toEqual(['refresh'])
  })

  it('joins a fetch already running (still single-flight)', async () => {
    const cache = createCache()
    const slow = gate()
    let fetches = 0
    const fetcher = async () => {
      fetches++
      await slow.promise
      return 'fetched'
    }
    const plain = cache.getOrSet('k', fetcher)
    const refreshed = cache.getOrSet('k', fetcher, { refresh: true })
    slow.open()
    expect(await Promise.all([plain, refreshed])).toEqual(['fetched', 'fetched'])
    expect(fetches).toBe(1)
    expect(cache.stats().coalesced).toBe(1)
  })
})

describe('delete() while a fill is in flight', () => {
  it('a getOrSet issued after delete() resolved never answers with data read before the delete', async () => {
    const cache = createCache()
    let db = 'v1'
    const slow = gate()
    const before = cache.getOrSet('user:1', slowRead(() => db, slow.promise).fetcher)
    // The app updates the row, then deletes the cache key.
    db = 'v2'
    await cache.delete('user:1')
    const after = cache.getOrSet('user:1', () => db)
    slow.open()
    expect(await before).toBe('v1') // concurrent with the delete: either answer is fine
    expect(await after).toBe('v2')
    expect(await cache.getOrSet('user:1', () => db)).toBe('v2')
    expect(cache.peek('user:1')).toBe('v2')
  })

  it('the pre-delete fill is kept nowhere, even when it ends after the fill issued after the delete', async () => {
    const cache = createCache()
    let db = 'v1'
    const slow = gate()
    const before = cache.getOrSet('user:1', slowRead(() => db, slow.promise).fetcher)
    db = 'v2'
    await cache.delete('user:1')
    let fetchedAfter = false
    const after = cache.getOrSet('user:1', () => {
      fetchedAfter = true
      return db
    })
    // Its own fetch started at once: it did not join the pre-delete fill.
    expect(fetchedAfter).toBe(true)
    expect(await after).toBe('v2')
    slow.open()
    expect(await before).toBe('v1')
    expect(cache.peek('user:1')).toBe('v2')
  })

  it('with a store: the pre-delete fill is not written to the store either', async () => {
    const store = memoryStore()
    const cache = createCache({ store, pollInterval: 5 })
    let db = 'v1'
    const slow = gate()
    const query = slowRead(() => db, slow.promise)
    const before = cache.getOrSet('user:1', query.fetcher)
    await query.read
    db = 'v2'
    await cache.delete('user:1')
    // Waits on the lock the pre-delete fill holds, then fills itself.
    const after = cache.getOrSet('user:1', () => db)
    slow.open()
    expect(await before).toBe('v1')
    expect(await after).toBe('v2')
    expect(cache.peek('user:1')).toBe('v2')
    // Another instance (empty memory) reads the store tier.
    expect(await createCache({ store }).get('user:1')).toBe('v2')
  })
})

describe('set() while a fill is in flight', () => {
  it('the fill that started before the set does not replace the set value', async () => {
    const store = memoryStore()
    const cache = createCache({ store })
    const slow = gate()
    const query = slowRead(() => 'read before the set', slow.promise)
    const before = cache.getOrSet('flag', query.fetcher)
    await query.read
    await cache.set('flag', 'set')
    slow.open()
    expect(await before).toBe('read before the set')
    expect(await cache.getOrSet('flag', () => 'refetched')).toBe('set')
    expect(await createCache({ store }).get('flag')).toBe('set')
  })
})

describe('invalidateTags() while a fill is in flight', () => {
  it('after invalidateTags resolved, a value fetched before it is not served as fresh', async () => {
    const cache = createCache()
    let db = 'v1'
    const slow = gate()
    const before = cache.getOrSet('team:7:members', slowRead(() => db, slow.promise).fetcher, {
      tags: ['team:7'],
    })
    db = 'v2'
    await cache.invalidateTags(['team:7'])
    slow.open()
    await before
    // The entry written by the pre-invalidation fetch must not outlive the invalidation.
    expect(await cache.getOrSet('team:7:members', () => db, { tags: ['team:7'] })).toBe('v2')
  })

  it('a getOrSet issued after invalidateTags resolved does not join the earlier fill', async () => {
    const cache = createCache()
    let db = 'v1'
    const slow = gate()
    const before = cache.getOrSet('team:7:members', slowRead(() => db, slow.promise).fetcher, {
      tags: ['team:7'],
    })
    db = 'v2'
    await cache.invalidateTags(['team:7'])
    const after = cache.getOrSet('team:7:members', () => db, { tags: ['team:7'] })
    slow.open()
    expect(await before).toBe('v1')
    expect(await after).toBe('v2')
  })

  it('clear() of a namespace does the same for its fills', async () => {
    const users = createCache().namespace('users')
    let db = 'v1'
    const slow = gate()
    const before = users.getOrSet('u1', slowRead(() => db, slow.promise).fetcher)
    db = 'v2'
    await users.clear()
    const after = users.getOrSet('u1', () => db)
    slow.open()
    expect(await before).toBe('v1')
    expect(await after).toBe('v2')
    expect(users.peek('u1')).toBe('v2')
  })

  it('a fill of an untagged key is still joined (an invalidation of other tags changes nothing)', async () => {
    const cache = createCache()
    const slow = gate()
    let fetches = 0
    const fetcher = async () => {
      fetches++
      await slow.promise
      return 'v'
    }
    const first = cache.getOrSet('k', fetcher, { tags: ['a'] })
    await cache.invalidateTags(['b'])
    const second = cache.getOrSet('k', fetcher, { tags: ['a'] })
    slow.open()
    expect(await Promise.all([first, second])).toEqual(['v', 'v'])
    expect(fetches).toBe(1)
    expect(cache.peek('k')).toBe('v')
  })
})

describe('the soft timeout of a fill begun before a change', () => {
  /** A cache whose `k` holds `old`, expired but still servable as a stale-if-error fallback. */
  async function expiredOld(tags?: string[]) {
    let t = Date.now()
    const cache = createCache({
      ttl: 1_000,
      staleIfError: 600_000,
      jitter: 0,
      now: () => t,
      timeouts: { soft: 5 },
    })
    await cache.set('k', 'old', tags === undefined ? undefined : { tags })
    t += 2_000
    return cache
  }

  it('answers its own caller with the stale value, but calls after a delete never get the deleted value', async () => {
    const cache = await expiredOld()
    const slow = gate<string>()
    const first = cache.getOrSet('k', () => slow.promise)
    await cache.delete('k')
    // The soft timeout answers the first caller (who asked before the delete) with the stale value.
    expect(await first).toBe('old')
    // A call made after the delete (and after the soft timeout fired) must never get it.
    const after = await cache.getOrSet('k', () => 'new')
    slow.open('late')
    expect(after).toBe('new')
  })

  it('calls after an invalidation of its tag never get the invalidated value', async () => {
    const cache = await expiredOld(['user:1'])
    const slow = gate<string>()
    const first = cache.getOrSet('k', () => slow.promise, { tags: ['user:1'] })
    await cache.invalidateTags(['user:1'])
    expect(await first).toBe('old')
    const after = await cache.getOrSet('k', () => 'new', { tags: ['user:1'] })
    slow.open('late')
    expect(after).toBe('new')
  })

  it('does not replace the in-flight entry of a newer load of the key', async () => {
    const cache = await expiredOld()
    const slow = gate<string>()
    const first = cache.getOrSet('k', () => slow.promise)
    await cache.delete('k')
    // A load started after the delete: later calls join it.
    const newer = gate<string>()
    const second = cache.getOrSet('k', () => newer.promise)
    // The first load's soft timeout fires while the second load runs.
    expect(await first).toBe('old')
    let fetchedThird = false
    const third = cache.getOrSet('k', () => {
      fetchedThird = true
      return 'third'
    })
    newer.open('new')
    expect(await second).toBe('new')
    expect(await third).toBe('new')
    expect(fetchedThird).toBe(false)
    slow.open('late')
  })
})
