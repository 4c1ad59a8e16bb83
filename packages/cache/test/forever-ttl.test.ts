/**
 * A `ttl` of `Number.MAX_SAFE_INTEGER` (the documented "forever", accepted by every duration
 * option) writes a `freshUntil` past `NEVER_FRESH` (= `Number.MAX_SAFE_INTEGER`), the `nowMs` the
 * cache passes to `readOrLockOp` to force taking the lock. The script then still answers `fresh`.
 */
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

async function forever(prefix: string) {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { prefix, commandTimeoutMs: 2000 })
  let runs = 0
  const run = store.run.bind(store)
  store.run = ((...args: Parameters<typeof run>) => {
    runs++
    return run(...args)
  }) as typeof store.run
  const cache = createCache({ store, ttl: Number.MAX_SAFE_INTEGER, jitter: 0 })
  return { cache, runs: () => runs }
}

/** Resolves to the call's value, or to 'stuck' once the cache has made `limit` store calls. */
async function settleOrStuck<T>(p: Promise<T>, runs: () => number, limit = 200) {
  let done = false
  const watched = p.then((v) => {
    done = true
    return v
  })
  const stuck = (async () => {
    while (!done && runs() < limit) await new Promise((r) => setTimeout(r, 5))
    return 'stuck' as const
  })()
  return Promise.race([watched, stuck])
}

describe('ttl: Number.MAX_SAFE_INTEGER', () => {
  it('getOrSet(…, { refresh: true }) calls the fetcher instead of answering the stored value', async () => {
    const { cache } = await forever('ft1')
    expect(await cache.getOrSet('k', () => 'old')).toBe('old')
    // Documented: refresh skips reading and always fetches and stores the result.
    expect(await cache.getOrSet('k', () => 'new', { refresh: true })).toBe('new')
  })

  it('an entry invalidated by its tag is refetched, not re-read from the store forever', async () => {
    const { cache, runs } = await forever('ft2')
    await cache.set('k', 'old', { tags: ['t'] })
    await cache.invalidateTags(['t'])
    const before = runs()
    const result = await settleOrStuck(
      cache.getOrSet('k', () => 'new', { tags: ['t'] }),
      () => runs() - before
    )
    expect(result).toBe('new')
  })
})
