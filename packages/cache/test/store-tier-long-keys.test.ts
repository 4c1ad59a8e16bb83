/**
 * Cache keys longer than the store's tag limit (`MAX_TAG_LENGTH`, 256 characters: a longer tag is
 * stored under its digest) reach the same store entry on every path: the store tier's fast key
 * (built without `store.key`) must not write a key that `store.key` (locks, fills, deletes, other
 * instances) never finds.
 */
import { type Cache, createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
let raw: Redis
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  raw = server.client()
  await whenReady(raw)
})
afterAll(async () => {
  await server?.stop()
})

/** A cache with its own connection (its memory tier starts empty: a first read goes to Redis). */
async function instance(): Promise<Cache> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { prefix: `lk${runId}`, commandTimeoutMs: 2000 })
  return createCache({ store, namespace: 'app' })
}

const longKey = (c: string) => `prompt:${c.repeat(600)}`

describe('cache keys longer than the store tag limit (real Redis)', () => {
  it('set on one instance, get and getOrSet on another: one entry, one short Redis key', async () => {
    const a = await instance()
    const b = await instance()
    const key = longKey('x')
    await a.set(key, { answer: 42 })
    expect(await b.get(key)).toEqual({ answer: 42 })
    let fetched = 0
    expect(await b.getOrSet(key, async () => ({ answer: ++fetched }))).toEqual({ answer: 42 })
    expect(fetched).toBe(0)
    const keys = await raw.keys(`lk${runId}:*`)
    expect(keys.length).toBeGreaterThan(0)
    for (const k of keys) expect(k.length).toBeLessThan(120)
  })

  it('getOrSet fills, then delete on another instance removes the entry from Redis', async () => {
    const a = await instance()
    const b = await instance()
    const key = longKey('y')
    expect(await a.getOrSet(key, async () => 'filled')).toBe('filled')
    expect(await b.get(key)).toBe('filled')
    await b.delete(key)
    expect(await (await instance()).get(key)).toBeUndefined()
  })
})
