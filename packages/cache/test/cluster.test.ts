/**
 * On a real 3-master Redis Cluster: every cache op's keys share one hash slot (no CROSSSLOT), so the
 * cross-instance single-flight, store hits and tag invalidation work there too.
 */

import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisClusterHandle, startRedisCluster, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let cluster: RedisClusterHandle
beforeAll(async () => {
  cluster = await startRedisCluster()
}, 40_000)
afterAll(async () => {
  await cluster?.stop()
})

async function instance() {
  const client = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(client)
  return createCache({ store: redisStore(client, { commandTimeoutMs: 2000 }), namespace: 'cl' })
}

describe('Redis Cluster', () => {
  it('two instances: one fetch for 200 concurrent calls, then store hits and tag invalidation', async () => {
    const [a, b] = await Promise.all([instance(), instance()])
    let fetches = 0
    const fetcher = async () => {
      fetches++
      await sleep(50)
      return { v: 1 }
    }
    const keys = ['alpha', 'beta', 'gamma']
    for (const key of keys) {
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 ? a : b).getOrSet(key, fetcher, { tags: ['t'] })
        )
      )
    }
    expect(fetches).toBe(keys.length)
    const c = await instance()
    for (const key of keys) expect(await c.get(key)).toEqual({ v: 1 })
    await a.invalidateTags(['t'])
    const d = await instance()
    for (const key of keys) expect(await d.get(key)).toBeUndefined()
  }, 20_000)
})
