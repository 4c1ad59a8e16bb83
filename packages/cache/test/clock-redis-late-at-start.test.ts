/**
 * A cache created while Redis is down (its store's first TIME fails) stamps its writes on Redis's
 * clock once Redis is up: it asks the store again until the clock is measured. Its first writes
 * used to be stamped on this machine's clock (an hour ahead here), so they outlived a later
 * invalidation made on another instance.
 */
import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})
afterEach(() => {
  vi.restoreAllMocks()
})
const HOUR = 3_600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const real = Date.now.bind(Date)

async function instance() {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { commandTimeoutMs: 2_000, prefix: 'clock-late' })
  await store.clockReady()
  const cache = createCache({ store, jitter: 0, ttl: 60_000 })
  return {
    cache,
    close: async () => {
      await cache.close()
      client.disconnect()
    },
  }
}

describe('cache created before Redis answers', () => {
  it('an instance an hour ahead, created while Redis is down, stamps its first set after Redis is back on Redis time', async () => {
    await server.kill()
    vi.spyOn(Date, 'now').mockImplementation(() => real() + HOUR)
    const client = server.client({
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    })
    const store = redisStore(client, { commandTimeoutMs: 500, prefix: 'clock-late' })
    const skewed = createCache({ store, jitter: 0, ttl: 60_000 })
    await store.clockReady() // the first TIME fails: Redis is down
    await server.restart()
    await whenReady(client)
    await skewed.set('late', 'old', { tags: ['t'] })
    vi.restoreAllMocks()
    // Well apart: each instance stamps on its own estimate of Redis's clock, and two estimates can
    // disagree by a measurement's round trip (long on a loaded runner). An hour ahead stays ahead.
    await sleep(300)
    const b = await instance()
    await b.cache.invalidateTags(['t'])
    const c = await instance()
    expect(await c.cache.get('late')).toBeUndefined()
    await skewed.close()
    client.disconnect()
    for (const x of [b, c]) await x.close()
  }, 20_000)
})
