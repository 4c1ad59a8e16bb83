/**
 * Store-tier edge cases on a shared memoryStore (one process, separate `createCache` instances):
 * a failure between the lock script and the tag check, soft timeouts while another instance fills,
 * namespace isolation, values of `undefined`, the store's clock.
 */
import { createCache } from '@aikit/cache'
import { memoryStore, type Store, StoreTimeoutError } from '@aikit/core'
import { afterEach, describe, expect, it, vi } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The store with its plain GETs failing (Redis timing out between two commands). */
function failingGets(store: Store): Store {
  return {
    ...store,
    key: store.key.bind(store),
    get: () => Promise.reject(new StoreTimeoutError(50, 'redis GET')),
  }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('a store failure after the lock script answered', () => {
  it('getOrSet answers from the fetcher (a fresh stored entry whose tag GET fails)', async () => {
    const shared = memoryStore()
    await createCache({ store: shared }).set('profile', { name: 'stored' })
    // Every entry carries its namespace's tag: a new instance must GET its time once.
    const b = createCache({ store: failingGets(shared) })
    const errors: string[] = []
    b.on('error', (info) => errors.push(info.source))
    expect(await b.getOrSet('profile', () => ({ name: 'fetched' }))).toEqual({ name: 'fetched' })
    expect(errors).toContain('store')
    expect(b.stats()).toMatchObject({ misses: 1, fetches: 1 })
  })

  it('a stale stored entry: the call fills under the lock it took and releases it', async () => {
    const shared = memoryStore()
    const a = createCache({ store: shared, jitter: 0 })
    await a.set('k', 'old', { ttl: 1, staleIfError: 60_000 })
    await sleep(5)
    const b = createCache({ store: failingGets(shared), lockTtl: 60_000 })
    expect(await b.getOrSet('k', () => 'new-b')).toBe('new-b')
    // The lock is free: another instance reads B's fill at once instead of waiting 60 s for it.
    const c = createCache({ store: shared, lockTtl: 60_000, pollInterval: 60_000 })
    let fetchedByC = false
    const answer = await c.getOrSet('k', () => {
      fetchedByC = true
      return 'new-c'
    })
    expect(answer).toBe('new-b')
    expect(fetchedByC).toBe(false)
  })
})

describe('soft timeout', () => {
  it('while the backgrounded fetch runs, later calls get the stale value and start no fetch', async () => {
    let t = 1_000_000
    const cache = createCache({ now: () => t, jitter: 0, staleIfError: 60_000 })
    await cache.set('k', 'old', { ttl: 1000 })
    t += 2000 // expired, inside the stale-if-error window
    let fetches = 0
    let finish: (value: string) => void = () => undefined
    const slow = () => {
      fetches++
      return new Promise<string>((resolve) => {
        finish = resolve
      })
    }
    const answers: unknown[] = []
    for (let i = 0; i < 5; i++) {
      answers.push(await cache.getOrSet('k', slow, { timeouts: { soft: 5 } }))
      await sleep(5)
    }
    expect(answers).toEqual(['old', 'old', 'old', 'old', 'old'])
    expect(fetches).toBe(1)
    finish('new')
    await sleep(5)
    expect(await cache.getOrSet('k', slow)).toBe('new')
    expect(fetches).toBe(1)
  })

  it('after the soft answer, the hard timeout still aborts the fetcher', async () => {
    let t = 1_000_000
    const cache = createCache({ now: () => t, jitter: 0, staleIfError: 60_000 })
    await cache.set('k', 'old', { ttl: 1000 })
    t += 2000
    let signal: AbortSignal | undefined
    const hanging = (context: { signal: AbortSignal }) => {
      signal = context.signal
      return new Promise<string>(() => undefined)
    }
    expect(await cache.getOrSet('k', hanging, { timeouts: { soft: 5, hard: 30 } })).toBe('old')
    expect(signal?.aborted).toBe(false)
    await vi.waitFor(() => expect(signal?.aborted).toBe(true), { timeout: 10_000 })
    expect(cache.stats().timeouts).toBe(1)
    // Once abandoned, the key is free: the next call fetches again.
    expect(await cache.getOrSet('k', () => 'again')).toBe('again')
  })

  it('a backgrounded fetch that never settles pins the key no longer than lockTtl', async () => {
    let t = 1_000_000
    const cache = createCache({ now: () => t, jitter: 0, staleIfError: 60_000, lockTtl: 20 })
    await cache.set('k', 'old', { ttl: 1000 })
    t += 2000
    let fetches = 0
    const hanging = () => {
      fetches++
      return new Promise<string>(() => undefined)
    }
    expect(await cache.getOrSet('k', hanging, { timeouts: { soft: 5 } })).toBe('old')
    expect(await cache.getOrSet('k', hanging, { timeouts: { soft: 5 } })).toBe('old')
    expect(fetches).toBe(1)
    // Past lockTtl the key is free again: the next call tries a fetch of its own.
    await vi.waitFor(async () => {
      expect(await cache.getOrSet('k', () => 'new', { timeouts: { soft: 5 } })).toBe('new')
    })
  })

  it('an instance waiting on another instance’s fill answers stale after `soft`, before the fill', async () => {
    let t = 1_000_000
    const store = memoryStore({ now: () => t })
    const options = { store, now: () => t, jitter: 0, staleIfError: 60_000, pollInterval: 5 }
    const a = createCache(options)
    const b = createCache(options)
    await a.set('k', 'old', { ttl: 1000 })
    expect(await b.get('k')).toBe('old') // B holds the entry in memory too
    t += 2000
    let finish: (value: string) => void = () => undefined
    let fetches = 0
    const slow = () => {
      fetches++
      return new Promise<string>((resolve) => {
        finish = resolve
      })
    }
    expect(await a.getOrSet('k', slow, { timeouts: { soft: 5 } })).toBe('old')
    // A holds the fill lock; B waits on it, and answers stale once its own soft timeout passed.
    expect(await b.getOrSet('k', slow, { timeouts: { soft: 5 } })).toBe('old')
    expect(fetches).toBe(1)
    finish('new')
  })
})

describe('namespaces in the store tier', () => {
  it('root key "users:x" and key "x" of namespace "users" are different entries everywhere', async () => {
    const store = memoryStore()
    const a = createCache({ store })
    await a.namespace('users').set('x', 'child')
    await a.set('users:x', 'root')
    const b = createCache({ store })
    expect(await b.namespace('users').get('x')).toBe('child')
    expect(await b.get('users:x')).toBe('root')
    // Nested namespaces are told apart from the root's keys the same way.
    await a.namespace('users').namespace('eu').set('y', 'nested')
    await a.namespace('users').set('eu:y', 'child-colon')
    expect(await b.namespace('users').namespace('eu').get('y')).toBe('nested')
    expect(await b.namespace('users').get('eu:y')).toBe('child-colon')
  })
})

describe('undefined values', () => {
  it('a fetcher answering undefined is cached and shared, and is no store error', async () => {
    const store = memoryStore()
    const a = createCache({ store })
    const b = createCache({ store })
    const errors: unknown[] = []
    a.on('error', (info) => errors.push(info))
    let fetches = 0
    const lookup = async () => {
      fetches++
      return undefined
    }
    expect(await a.getOrSet('user:404', lookup)).toBeUndefined()
    expect(await a.getOrSet('user:404', lookup)).toBeUndefined()
    expect(await b.getOrSet('user:404', lookup)).toBeUndefined()
    expect(fetches).toBe(1)
    expect(errors).toEqual([])
    expect(a.stats().storeErrors).toBe(0)
    expect(b.stats().storeHits).toBe(1)
  })
})

describe("the store's clock", () => {
  it('without a `now` option, entries are stamped on store.now(), not on this machine’s clock', async () => {
    let storeTime = 1_000_000
    const store = memoryStore({ now: () => storeTime })
    const cache = createCache({ store, jitter: 0 })
    await cache.set('k', 'v', { ttl: 1000 })
    expect(cache.peek('k')).toBe('v')
    storeTime += 1500 // this machine's clock has not moved; the store's has
    expect(cache.peek('k')).toBeUndefined()
  })

  it('a writer whose own clock runs ahead still loses its entry to a later invalidation', async () => {
    // The one clock every instance reads through store.now() (memoryStore keeps the Date.now it
    // was created with, so the spy below cannot move it).
    const store = memoryStore()
    const admin = createCache({ store })
    const realNow = Date.now
    // The writer's machine runs 1.5 s ahead (its cache is created while Date.now is skewed).
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 1500)
    const writer = createCache({ store })
    await writer.set('price:sku1', 100, { tags: ['prices'] })
    spy.mockRestore()
    await admin.invalidateTags(['prices'])
    const reader = createCache({ store })
    expect(await reader.get('price:sku1')).toBeUndefined()
  })

  it('an invalidation stamped far ahead (a broken clock) does not stretch later entries’ TTL', async () => {
    const store = memoryStore()
    let t = 1_000_000
    const broken = createCache({ store, now: () => t + 3_600_000 })
    await broken.set('a', 1, { tags: ['prices'] })
    await broken.invalidateTags(['prices'])
    const local = createCache({ store, now: () => t, jitter: 0 })
    await local.get('a') // reads the tag's time from the store
    await local.set('b', 'value', { ttl: 1000 })
    expect(local.peek('b')).toBe('value')
    t += 5000
    expect(local.peek('b')).toBeUndefined()
  })
})

describe('a soft-timeout hold never outlives a change to its key', () => {
  async function held() {
    let t = 1_000_000
    const cache = createCache({ now: () => t, jitter: 0, staleIfError: 60_000 })
    await cache.set('k', 'old', { ttl: 1000, tags: ['user:1'] })
    t += 2000
    const hanging = () => new Promise<string>(() => undefined)
    expect(await cache.getOrSet('k', hanging, { timeouts: { soft: 5 } })).toBe('old')
    // Held: this process's next call still gets the stale value without a fetch.
    expect(await cache.getOrSet('k', () => 'unused')).toBe('old')
    return cache
  }

  it.each([
    ['delete(k)', (c: Awaited<ReturnType<typeof held>>) => c.delete('k')],
    ['invalidateTags', (c: Awaited<ReturnType<typeof held>>) => c.invalidateTags(['user:1'])],
    ['clear()', (c: Awaited<ReturnType<typeof held>>) => c.clear()],
    ['set(k)', (c: Awaited<ReturnType<typeof held>>) => c.set('k', 'set')],
  ])('after %s the next call does not get the held value', async (what, change) => {
    const cache = await held()
    await change(cache)
    expect(await cache.getOrSet('k', () => 'new')).toBe(what === 'set(k)' ? 'set' : 'new')
  })

  it('refresh: true fetches instead of taking the held value', async () => {
    const cache = await held()
    expect(await cache.getOrSet('k', () => 'new', { refresh: true })).toBe('new')
  })
})

describe('tag pruning and entries read from the store', () => {
  it('an invalidated store entry living longer than any this instance wrote stays invalid', async () => {
    let t = 1_000_000_000
    const now = () => t
    const store = memoryStore({ now })
    const a = createCache({ store, now, jitter: 0 })
    await a.set('k', 'before-invalidation', { ttl: 3_600_000, tags: ['user:1'] })
    t += 10 * 60_000
    await a.invalidateTags(['user:1'])
    t += 5 * 60_000
    // B holds many per-entity tag times and writes only one-minute entries: reading k's tag time
    // must not be undone by a prune before k is checked.
    const b = createCache({ store, now, jitter: 0 })
    await b.set('other', 'x', { ttl: 60_000 })
    await b.invalidateTags(Array.from({ length: 1023 }, (_, i) => `order:${i}`))
    expect(await b.get('k')).toBeUndefined()
    expect(await b.getOrSet('k', () => 'refetched')).toBe('refetched')
  })
})
