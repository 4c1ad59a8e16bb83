/**
 * Durations whose entry times cannot be written as whole milliseconds, nor held by a Redis `PX`
 * expiry (above `Number.MAX_SAFE_INTEGER`: `1e19`, `1e21`, `Number.MAX_VALUE`), are refused when
 * given, naming the field. Before, they were taken: every write to the store tier failed (the
 * value never reached another instance, whose callers waited out the fill lock and fetched again).
 * `Number.MAX_SAFE_INTEGER` itself (a "forever") works across instances.
 */
import { redisStore } from '@aikit/core/redis'
import { invalidField, rejectedField } from '@aikit/testing/invalid-field'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, createLlmCache } from '../src/index.js'
import { cacheResponse } from '../src/middleware.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

const TOO_LONG = [Number.MAX_SAFE_INTEGER + 2, 1e19, 1e21, Number.MAX_VALUE]

describe('duration limits', () => {
  it.each(TOO_LONG)('%d ms is refused for every duration option, naming it', (ms) => {
    expect(invalidField(() => createCache({ ttl: ms }))).toBe('ttl')
    expect(invalidField(() => createCache({ staleWhileRevalidate: ms }))).toBe(
      'staleWhileRevalidate'
    )
    expect(invalidField(() => createCache({ staleIfError: ms }))).toBe('staleIfError')
    const cache = createCache()
    expect(invalidField(() => createLlmCache(cache, { ttl: ms }))).toBe('ttl')
    expect(invalidField(() => cacheResponse({ cache, ttl: ms }))).toBe('ttl')
  })

  it.each(TOO_LONG)('%d ms is refused per call too', async (ms) => {
    const cache = createCache()
    expect(await rejectedField(cache.getOrSet('k', () => 1, { ttl: ms }))).toBe('ttl')
    expect(await rejectedField(cache.set('k', 1, { staleIfError: ms }))).toBe('staleIfError')
    expect(await rejectedField(cache.getOrSet('k', () => 1, { staleWhileRevalidate: ms }))).toBe(
      'staleWhileRevalidate'
    )
  })

  it('Number.MAX_SAFE_INTEGER reaches the store tier and another instance', async () => {
    const make = async () => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      return createCache({
        store: redisStore(client, { prefix: 'dl', commandTimeoutMs: 2000 }),
        ttl: Number.MAX_SAFE_INTEGER,
        staleWhileRevalidate: Number.MAX_SAFE_INTEGER,
      })
    }
    const a = await make()
    const errors: unknown[] = []
    a.on('error', (info) => errors.push(info))
    let fetches = 0
    expect(await a.getOrSet('forever', () => ++fetches)).toBe(1)
    const b = await make()
    expect(await b.getOrSet('forever', () => ++fetches)).toBe(1)
    expect(fetches).toBe(1)
    expect(b.stats().storeHits).toBe(1)
    expect(errors).toEqual([])
  })
})
