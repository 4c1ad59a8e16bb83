/**
 * `cache.on()` subscriptions are the subscriber's own: the same handler subscribed by two caches
 * on one store (or twice on one cache) is two subscriptions, and undoing one (its `off()`, the
 * cache's `close()`) leaves the other in place.
 */
import { createCache } from '@aikit/cache'
import { memoryStore, type Store, type StoreEventInfo, StoreTimeoutError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/** A Redis store whose breaker opens (and emits `degraded`) on its first failure. */
function fragileStore() {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, { breaker: { failureThreshold: 1, openMs: 60_000 } })
  return { client, store }
}

/** Makes the store fail (Redis gone) and waits for its breaker to open. */
async function breakStore(
  client: { disconnect(): void },
  store: { breakerState: string },
  use: () => Promise<unknown>
): Promise<void> {
  client.disconnect()
  await use().catch(() => undefined)
  for (const end = Date.now() + 10_000; Date.now() < end && store.breakerState === 'closed'; ) {
    await new Promise((r) => setTimeout(r, 20))
  }
  expect(store.breakerState).not.toBe('closed')
}

/** The store with its plain GETs failing (each one an `error` event of the cache). */
function failingGets(store: Store): Store {
  return {
    ...store,
    key: store.key.bind(store),
    get: () => Promise.reject(new StoreTimeoutError(50, 'redis GET')),
  }
}

describe('cache.on() subscriptions', () => {
  it("closing one cache leaves another cache's degraded subscription of the same handler on a shared store", async () => {
    const { client, store } = fragileStore()
    const seen: StoreEventInfo[] = []
    const onDegraded = (info: StoreEventInfo): void => {
      seen.push(info)
    }
    const tenantCache = createCache({ store, ttl: 60_000 })
    const appCache = createCache({ store, ttl: 60_000 })
    tenantCache.on('degraded', onDegraded)
    appCache.on('degraded', onDegraded)
    await tenantCache.close()
    await breakStore(client, store, () => appCache.getOrSet('k', () => 'v'))
    expect(seen).toHaveLength(1)
    await appCache.close()
  })

  it('off() of one of two degraded subscriptions of a handler leaves the other', async () => {
    const { client, store } = fragileStore()
    const seen: StoreEventInfo[] = []
    const onDegraded = (info: StoreEventInfo): void => {
      seen.push(info)
    }
    const cache = createCache({ store, ttl: 60_000 })
    const off = cache.on('degraded', onDegraded)
    cache.on('degraded', onDegraded)
    off()
    await breakStore(client, store, () => cache.getOrSet('k', () => 'v'))
    expect(seen).toHaveLength(1)
    await cache.close()
  })

  it("off() of one namespace's error subscription leaves the root's subscription of the same handler", async () => {
    const cache = createCache({ store: failingGets(memoryStore()) })
    const sources: string[] = []
    const onError = (info: { source: string }): void => {
      sources.push(info.source)
    }
    cache.on('error', onError)
    const off = cache.namespace('users').on('error', onError)
    off()
    expect(await cache.get('k')).toBeUndefined()
    expect(sources).toEqual(['store'])
  })
})
