/**
 * redis-server killed in the middle of a load: no getOrSet fails (the cache degrades to memory plus
 * the fetcher), store errors are counted and reported, and once Redis is back the store tier serves
 * hits again without any action (the store's breaker probes and recovers).
 */

import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, describe, expect, it, vi } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Resolves once `predicate()` holds (polled every 10 ms); throws after 20 s. */
async function until(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 20 s')
    await sleep(10)
  }
}
let server: RedisServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

describe('Redis outage', () => {
  it('killing Redis mid-load fails zero requests; the store tier comes back by itself', async () => {
    server = await startRedis()
    const client = server.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    await whenReady(client)
    const store = redisStore(client, {
      commandTimeoutMs: 50,
      breaker: { failureThreshold: 3, openMs: 300 },
    })
    const cache = createCache({ store, ttl: 60_000, memory: { maxEntries: 50 } })
    const events: string[] = []
    cache.on('degraded', () => events.push('degraded'))
    cache.on('recovered', () => events.push('recovered'))
    let storeErrors = 0
    cache.on('error', (info) => {
      if (info.source === 'store') storeErrors++
    })

    let failures = 0
    let served = 0
    let stop = false
    const worker = async (id: number) => {
      let i = 0
      while (!stop) {
        // 200 keys over a 50-entry memory tier: most calls need the store tier or the fetcher.
        const key = `k${(id * 7 + i++) % 200}`
        try {
          const value = await cache.getOrSet(key, async () => ({ key }))
          if (value.key !== key) failures++
          served++
        } catch {
          failures++
        }
        await sleep(1)
      }
    }
    const workers = Array.from({ length: 16 }, (_, id) => worker(id))
    // Waits on what happened, not on the clock: a loaded machine (CI) only takes longer.
    await until(() => served >= 300)
    await server.kill()
    const atKill = served
    await until(() => events.includes('degraded') && served - atKill >= 300)
    const servedDuringOutage = served - atKill
    await server.restart()
    const atRestart = served
    await until(() => events.at(-1) === 'recovered' && served - atRestart >= 300)
    stop = true
    await Promise.all(workers)

    expect(failures).toBe(0)
    expect(servedDuringOutage).toBeGreaterThanOrEqual(300)
    expect(storeErrors).toBeGreaterThan(0)
    expect(events).toContain('degraded')
    expect(events[events.length - 1]).toBe('recovered')
    // Recovered: a value written now is read back from Redis by a fresh instance. Its store has a
    // long timeout (the 50 ms one is for the outage); the write is repeated until it lands, as
    // one 50 ms write may time out on a stalled runner (one that never reaches Redis never does).
    const other = createCache({ store: redisStore(client, { commandTimeoutMs: 5_000 }) })
    await vi.waitFor(
      async () => {
        await cache.set('after', 'back')
        expect(await other.get('after')).toBe('back')
      },
      { timeout: 10_000, interval: 100 }
    )
    expect(other.stats().storeHits).toBe(1)
  }, 60_000)

  it('a cache whose Redis is down from the start still answers every call', async () => {
    server = await startRedis()
    const client = server.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    await whenReady(client)
    await server.kill()
    const cache = createCache({ store: redisStore(client, { commandTimeoutMs: 30 }) })
    await cache.set('a', 1)
    expect(await cache.get('a')).toBe(1)
    expect(await cache.getOrSet('b', () => 2)).toBe(2)
    await cache.delete('a')
    await cache.invalidateTags(['x'])
    expect(cache.stats().storeErrors).toBeGreaterThan(0)
  })
})
