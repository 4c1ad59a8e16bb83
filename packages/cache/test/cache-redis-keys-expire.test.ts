/**
 * Every key the cache writes on Redis expires: whatever the call (set, getOrSet, a failed fill,
 * delete, invalidateTags, a namespace clear), no key it leaves lives for good or past its lifetime.
 */

import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

describe('cache keys on redis expire', () => {
  it('set, getOrSet, delete, invalidateTags, namespace clear: every key has a bounded PTTL', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const store = redisStore(client, { commandTimeoutMs: 2_000 })
    const cache = createCache({
      store,
      ttl: 5_000,
      staleWhileRevalidate: 5_000,
      staleIfError: 10_000,
      lockTtl: 3_000,
      lockMaxHold: 6_000,
    })
    await cache.set('a', 1, { tags: ['t1'] })
    await cache.getOrSet('b', async () => 2, { tags: ['t2'] })
    await cache.getOrSet('c', async () => 3)
    await cache.delete('c')
    await cache.delete('never-set')
    await cache.invalidateTags(['t1', 'unused-tag'])
    const ns = cache.namespace('n1')
    await ns.set('x', 1)
    await ns.clear()
    await cache
      .getOrSet('e', async () => {
        throw new Error('boom')
      })
      .catch(() => undefined)
    const keys = await client.keys('*')
    expect(keys.length).toBeGreaterThan(0)
    const bad: string[] = []
    for (const k of keys) {
      const pttl = await client.pttl(k)
      if (pttl === -1 || pttl > 60_000) bad.push(`${k}: ${pttl}`)
    }
    expect(bad).toEqual([])
    await cache.close()
    client.disconnect()
  })
})
