/**
 * Every successful unsafe request (POST, PUT, PATCH, DELETE) that passes `cacheResponse` calls
 * `invalidateTags` with the tag of its Host and path. The tag's time was written to the store with
 * no expiry: an API whose writes go to per-entity paths (`POST /api/conversations/<id>/messages`,
 * one per chat turn) left one Redis key per path for good. A tag time only matters while an entry
 * created before it can still be served, so it now expires after the longest lifetime the
 * instance knows of (cache-wide ttl with jitter and stale windows, cacheResponse's own `ttl`).
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import { cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

let server: RedisServer
let raw: Redis
const servers: Server[] = []
beforeAll(async () => {
  server = await startRedis()
  raw = server.client()
  await whenReady(raw)
})
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  await server?.stop()
})

function post(base: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base)
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST' },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }
    )
    req.on('error', reject)
    req.end()
  })
}

describe('cacheResponse unsafe-method invalidation and the store', () => {
  it('per-path tag times written to Redis expire as entries written before them would', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const cache = createCache({
      store: redisStore(client, { prefix: 'tagttl', commandTimeoutMs: 2000 }),
      ttl: 60_000,
    })
    const route: Middleware = async (ctx) => {
      ctx.respond(200, { ok: true })
    }
    const http = createServer(toNodeHandler(cacheResponse({ cache }), route))
    servers.push(http)
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`

    for (let i = 0; i < 50; i++) {
      expect(await post(base, `/api/conversations/${i}/messages`)).toBe(200)
    }
    // A response can go out before its invalidation's write lands (see the next test): wait for
    // the last tag times rather than read them at once.
    const keys = await vi.waitFor(
      async () => {
        const found = await raw.keys('tagttl:*')
        expect(found.length).toBeGreaterThanOrEqual(50)
        return found
      },
      { timeout: 10_000, interval: 20 }
    )
    // Each key lives as long as an entry written before it could: ttl 60 s with its 10 % jitter,
    // plus the 1 s clock lead, and no longer.
    for (const key of keys) {
      const pttl = await raw.pttl(key)
      expect(pttl, key).toBeGreaterThan(60_000)
      expect(pttl, key).toBeLessThanOrEqual(67_000)
    }
  })

  it("keeps a tag's time as long as cacheResponse's own ttl says its entries live, on an instance that wrote none", async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const cache = createCache({
      store: redisStore(client, { prefix: 'tagttl2', commandTimeoutMs: 2000 }),
      ttl: 1000,
      jitter: 0,
    })
    const route: Middleware = async (ctx) => {
      ctx.respond(200, { ok: true })
    }
    // Entries written by this middleware (on any instance) live 10 minutes.
    const http = createServer(toNodeHandler(cacheResponse({ cache, ttl: 600_000 }), route))
    servers.push(http)
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    expect(await post(base, '/api/items/1')).toBe(200)
    // The response can go out before the invalidation's write lands (a new instance measures the
    // store's clock first): wait for the tag's key rather than read it at once.
    const keys = await vi.waitFor(
      async () => {
        const found = await raw.keys('tagttl2:*')
        expect(found.length).toBe(1)
        return found
      },
      { timeout: 10_000, interval: 20 }
    )
    expect(await raw.pttl(keys[0]!)).toBeGreaterThan(600_000)
  })
})
