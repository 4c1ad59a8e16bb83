/**
 * `timeouts.hard` bounds a call that waits for another fetch of its key, not only its own fetcher:
 * one waiting on another instance's lock, or one joining a fetch running in this process (started
 * earlier, or under a longer hard timeout). Once its hard timeout is up, the call answers the stale
 * value if `staleIfError` allows it, else rejects with `CacheTimeoutError`, as when its own fetch
 * times out; the other fetch goes on and fills the cache.
 */
import { type Cache, CacheTimeoutError, createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/** A fetcher that answers `value` only once `finish()` is called. */
function pending(value: string) {
  let finish: () => void = () => undefined
  let started = false
  let finished = false
  const fetcher = () =>
    new Promise<string>((resolve) => {
      started = true
      finish = () => {
        finished = true
        resolve(value)
      }
    })
  return {
    fetcher,
    finish: () => finish(),
    finished: () => finished,
    /** Called: its call holds the key's lock (a loaded runner takes longer than any fixed sleep). */
    started: () => started,
  }
}

const outcome = (call: Promise<unknown>) =>
  call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error })
  )

describe('hard timeout while waiting for another fetch', () => {
  it("waiting on another instance's lock (Redis): CacheTimeoutError before that fetch ends", async () => {
    const open = async (): Promise<Cache> => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      const cache = createCache({
        store: redisStore(client, { prefix: 'hwh', commandTimeoutMs: 2000 }),
        namespace: 'app',
      })
      await cache.get('warm-up')
      return cache
    }
    const a = await open()
    const b = await open()
    const slow = pending('from A')
    const filling = a.getOrSet('report', slow.fetcher)
    // A holds the lock
    await vi.waitFor(() => expect(slow.started()).toBe(true), { timeout: 10_000, interval: 5 })
    let fetchedByB = false
    const result = await outcome(
      b.getOrSet(
        'report',
        async () => {
          fetchedByB = true
          return 'from B'
        },
        { timeouts: { hard: 200 } }
      )
    )
    expect(slow.finished()).toBe(false)
    expect(fetchedByB).toBe(false)
    expect(result).toEqual({ error: expect.any(CacheTimeoutError) })
    expect(b.stats().timeouts).toBe(1)
    slow.finish()
    expect(await filling).toBe('from A')
    expect(await b.getOrSet('report', async () => 'unused')).toBe('from A')
  })

  it('waiting on another instance with a stale value: the stale value (staleIfError)', async () => {
    const store: Store = memoryStore()
    let t = Date.now()
    const options = { store, ttl: 1000, staleIfError: 60_000, jitter: 0, now: () => t }
    const a = createCache(options)
    const b = createCache(options)
    await a.set('report', 'old')
    t += 2000 // stale now
    const slow = pending('new')
    const filling = a.getOrSet('report', slow.fetcher)
    // A holds the lock
    await vi.waitFor(() => expect(slow.started()).toBe(true), { timeout: 10_000, interval: 5 })
    const result = await outcome(b.getOrSet('report', async () => 'B', { timeouts: { hard: 50 } }))
    expect(slow.finished()).toBe(false)
    expect(result).toEqual({ value: 'old' })
    slow.finish()
    expect(await filling).toBe('new')
  })

  it('joining a fetch of this process: its own hard timeout, stale if allowed', async () => {
    let t = Date.now()
    const cache = createCache({ ttl: 1000, staleIfError: 60_000, jitter: 0, now: () => t })
    const slow = pending('v1')
    const first = cache.getOrSet('k', slow.fetcher) // no hard timeout
    const joined = await outcome(cache.getOrSet('k', async () => 'x', { timeouts: { hard: 30 } }))
    expect(slow.finished()).toBe(false)
    expect(joined).toEqual({ error: expect.any(CacheTimeoutError) })
    slow.finish()
    expect(await first).toBe('v1')

    t += 2000 // 'v1' is stale, within staleIfError
    const again = pending('v2')
    const refill = cache.getOrSet('k', again.fetcher)
    const stale = await outcome(cache.getOrSet('k', async () => 'x', { timeouts: { hard: 30 } }))
    expect(again.finished()).toBe(false)
    expect(stale).toEqual({ value: 'v1' })
    again.finish()
    expect(await refill).toBe('v2')
  })
})
