import { CacheTimeoutError, createCache } from '@aikit/cache'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it, vi } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('memory tier', () => {
  it('returns the stored object itself on a hit (no serialisation, no clone)', async () => {
    const cache = createCache()
    const value = { answer: 42, nested: { list: [1, 2] } }
    await cache.set('k', value)
    expect(await cache.get('k')).toBe(value)
    expect(cache.peek('k')).toBe(value)
    expect(await cache.getOrSet('k', () => ({ other: true }))).toBe(value)
  })

  it('1,000 concurrent getOrSet on a missing key with a 50 ms fetcher make one fetch', async () => {
    const cache = createCache()
    let fetches = 0
    const fetcher = async () => {
      fetches++
      await sleep(50)
      return { v: 'filled' }
    }
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => cache.getOrSet('hot', fetcher))
    )
    expect(fetches).toBe(1)
    expect(new Set(results).size).toBe(1)
    expect(cache.stats().coalesced).toBe(999)
  })

  it('expires after ttl and refetches', async () => {
    const c = clock()
    const cache = createCache({ ttl: 1000, jitter: 0, now: c.now })
    let n = 0
    expect(await cache.getOrSet('k', () => ++n)).toBe(1)
    c.advance(999)
    expect(await cache.getOrSet('k', () => ++n)).toBe(1)
    c.advance(2)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('k', () => ++n)).toBe(2)
  })

  it('applies TTL jitter within ±jitter', async () => {
    const c = clock()
    const cache = createCache({ ttl: 1000, jitter: 0.2, now: c.now })
    for (let i = 0; i < 50; i++) await cache.set(`k${i}`, i)
    c.advance(799)
    for (let i = 0; i < 50; i++) expect(cache.peek(`k${i}`)).toBe(i)
    c.advance(402)
    for (let i = 0; i < 50; i++) expect(cache.peek(`k${i}`)).toBeUndefined()
  })

  it('stale-while-revalidate serves the stale value and refreshes once in the background', async () => {
    const c = clock()
    const cache = createCache({ ttl: 1000, staleWhileRevalidate: 5000, jitter: 0, now: c.now })
    let n = 0
    const fetcher = async () => {
      await sleep(10)
      return ++n
    }
    expect(await cache.getOrSet('k', fetcher)).toBe(1)
    c.advance(1500)
    const served = await Promise.all([cache.getOrSet('k', fetcher), cache.getOrSet('k', fetcher)])
    expect(served).toEqual([1, 1])
    await vi.waitFor(() => expect(n).toBe(2), { timeout: 10_000, interval: 5 })
    expect(await cache.getOrSet('k', fetcher)).toBe(2)
  })

  it('stale-if-error serves the stale value when the fetcher fails, and rethrows outside the window', async () => {
    const c = clock()
    const cache = createCache({ ttl: 1000, staleIfError: 2000, jitter: 0, now: c.now })
    await cache.getOrSet('k', () => 'good')
    c.advance(1500)
    expect(await cache.getOrSet('k', () => Promise.reject(new Error('down')))).toBe('good')
    c.advance(2000)
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('down')))).rejects.toThrow(
      'down'
    )
  })

  it('never caches a fetcher error', async () => {
    const cache = createCache()
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom'
    )
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok')
  })

  it('soft timeout serves stale and the slow fetch still fills the cache', async () => {
    const c = clock()
    const cache = createCache({ ttl: 1000, staleIfError: 10_000, jitter: 0, now: c.now })
    await cache.set('k', 'old')
    c.advance(2000)
    const slow = async () => {
      await sleep(60)
      return 'new'
    }
    expect(await cache.getOrSet('k', slow, { timeouts: { soft: 5 } })).toBe('old')
    await vi.waitFor(() => expect(cache.peek('k')).toBe('new'), { timeout: 10_000, interval: 5 })
  })

  it('hard timeout aborts the fetcher and throws CacheTimeoutError without a stale value', async () => {
    const cache = createCache({ timeouts: { hard: 20 } })
    let aborted = false
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true
          resolve('late')
        })
      })
    const error = await cache.getOrSet('k', hang).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CacheTimeoutError)
    expect((error as CacheTimeoutError).status).toBe(504)
    expect(aborted).toBe(true)
    await sleep(5)
    expect(cache.peek('k')).toBeUndefined()
  })

  it('invalidateTags drops every tagged entry and nothing else', async () => {
    const cache = createCache()
    await cache.set('a', 1, { tags: ['user:1'] })
    await cache.set('b', 2, { tags: ['user:1', 'posts'] })
    await cache.set('c', 3, { tags: ['user:2'] })
    await cache.invalidateTags(['user:1'])
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBeUndefined()
    expect(await cache.get('c')).toBe(3)
    await cache.set('a', 10, { tags: ['user:1'] })
    expect(await cache.get('a')).toBe(10)
  })

  it('namespaces isolate keys and clear() drops one namespace and its children only', async () => {
    const cache = createCache()
    const users = cache.namespace('users')
    const admins = users.namespace('admins')
    await cache.set('x', 'root')
    await users.set('x', 'users')
    await admins.set('x', 'admins')
    expect([await cache.get('x'), await users.get('x'), await admins.get('x')]).toEqual([
      'root',
      'users',
      'admins',
    ])
    await users.clear()
    expect([await cache.get('x'), await users.get('x'), await admins.get('x')]).toEqual([
      'root',
      undefined,
      undefined,
    ])
  })

  it('root keys never collide with namespaced keys, whatever characters they use', async () => {
    const cache = createCache()
    const users = cache.namespace('users')
    await users.set('x', 'child')
    await cache.set('\u0000users\u0000x', 'root-nul')
    await cache.set('users:x', 'root-colon')
    expect(await users.get('x')).toBe('child')
    expect(await cache.get('\u0000users\u0000x')).toBe('root-nul')
    expect(await cache.get('users:x')).toBe('root-colon')
  })

  it('is bounded by entries (LRU) and by bytes', async () => {
    const byCount = createCache({ memory: { maxEntries: 3 } })
    for (const k of ['a', 'b', 'c']) await byCount.set(k, k)
    byCount.peek('a')
    await byCount.set('d', 'd')
    expect(byCount.peek('b')).toBeUndefined()
    expect(byCount.peek('a')).toBe('a')
    const byBytes = createCache({ memory: { maxBytes: 10_000 } })
    for (let i = 0; i < 20; i++) await byBytes.set(`k${i}`, 'x'.repeat(2000))
    let kept = 0
    for (let i = 0; i < 20; i++) if (byBytes.peek(`k${i}`) !== undefined) kept++
    expect(kept).toBeLessThanOrEqual(4)
    expect(byBytes.peek('k19')).toBeDefined()
  })

  it('delete removes the key; noStore and refresh behave as no-store / no-cache', async () => {
    const cache = createCache()
    await cache.set('k', 1)
    await cache.delete('k')
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('n', () => 'x', { noStore: true })).toBe('x')
    expect(cache.peek('n')).toBeUndefined()
    await cache.set('r', 'old')
    expect(await cache.getOrSet('r', () => 'new', { refresh: true })).toBe('new')
    expect(cache.peek('r')).toBe('new')
  })

  it('validates options and names the field', () => {
    expect(invalidField(() => createCache({ ttl: -1 }))).toBe('ttl')
    expect(invalidField(() => createCache({ memory: { maxEntries: 0 } }))).toBe('memory.maxEntries')
    expect(invalidField(() => createCache({ jitter: 2 }))).toBe('jitter')
    expect(invalidField(() => createCache({ timeouts: { hard: 0 } }))).toBe('timeouts.hard')
    expect(invalidField(() => createCache({ namespace: '' }))).toBe('namespace')
    expect(invalidField(() => createCache({ store: {} as never }))).toBe('store')
    expect(invalidField(() => createCache({ bus: {} as never }))).toBe('bus.publisher')
    expect(invalidField(() => createCache({ compression: { threshold: 0 } }))).toBe(
      'compression.threshold'
    )
  })

  it('a stale-while-revalidate answer counts one stale and no miss (memory only and with a store)', async () => {
    const { memoryStore } = await import('@aikit/core')
    for (const withStore of [false, true]) {
      const c = clock()
      const cache = createCache({
        now: c.now,
        jitter: 0,
        staleWhileRevalidate: 60_000,
        ...(withStore ? { store: memoryStore({ now: c.now }) } : {}),
      })
      await cache.set('k', 'old', { ttl: 1000 })
      c.advance(2000)
      expect(await cache.getOrSet('k', async () => 'new')).toBe('old')
      await vi.waitFor(() => expect(cache.peek('k')).toBe('new'), { timeout: 10_000 })
      expect(cache.stats()).toMatchObject({ stale: 1, misses: 0, fetches: 1 })
    }
  })

  it('tag times no entry can need any more are dropped (per-entity tags do not pile up)', async () => {
    const c = clock()
    const cache = createCache({ now: c.now, ttl: 1000, jitter: 0, memory: { maxEntries: 100 } })
    const engine = (cache as unknown as { engine: { tagTimes: Map<string, number> } }).engine
    for (let i = 0; i < 20_000; i++) {
      await cache.set(`profile:${i}`, { i }, { tags: [`user:${i}`] })
      await cache.invalidateTags([`user:${i}`])
      c.advance(1)
    }
    // Entries live 1 s here: only about the last 1,000 invalidations can still matter.
    expect(engine.tagTimes.size).toBeLessThan(4000)
    // A recent invalidation is still applied.
    await cache.set('recent', 1, { tags: ['user:19999'] })
    c.advance(1)
    await cache.invalidateTags(['user:19999'])
    expect(cache.peek('recent')).toBeUndefined()
  })
})
