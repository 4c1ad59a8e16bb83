/**
 * cacheResponse freshness (RFC 9111 §4.2): a response's current age counts its Date as well as its
 * Age, and Expires / Date are this machine's times even when the cache runs on a store's clock;
 * the Vary header-list entry outlives its shortest-lived variant.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { type Cache, cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import { memoryStore } from '@aikit/core'
import express from 'express'
import { afterAll, describe, expect, it } from 'vitest'
import { rawGet as get } from './fixtures/raw-get.js'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
})

const subject: Middleware = async (ctx, next) => {
  ctx.state.subject = 'alice'
  await next()
}

async function app(cache: Cache): Promise<{ base: string; calls: () => number }> {
  let calls = 0
  const a = express()
  a.use(toExpress(subject, cacheResponse({ cache })))
  a.get('/h', (req, res) => {
    calls++
    for (const name of ['cache-control', 'expires', 'date', 'vary']) {
      const value = req.query[name]
      if (typeof value === 'string') res.set(name, value)
    }
    res.json({ n: calls, region: req.header('x-region') ?? null })
  })
  a.get('/v', (req, res) => {
    calls++
    const region = req.header('x-region') ?? 'none'
    // Per-region pages: the EU one is stable for 10 minutes, the US one for a second.
    res.set('vary', 'X-Region').set('cache-control', region === 'eu' ? 'max-age=600' : 'max-age=1')
    res.json({ n: calls, region })
  })
  const server = createServer(a)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls }
}

describe('cacheResponse freshness', () => {
  it('an Expires in the past is never stored, whatever the Date header says', async () => {
    const { base, calls } = await app(createCache({ ttl: 60_000 }))
    const q = new URLSearchParams({
      date: new Date(Date.now() - 120_000).toUTCString(),
      expires: new Date(Date.now() - 60_000).toUTCString(),
    })
    await get(base, `/h?${q}`)
    const second = await get(base, `/h?${q}`)
    expect({ xCache: second.headers['x-cache'], calls: calls() }).toEqual({
      xCache: 'MISS',
      calls: 2,
    })
  })

  it('Expires is measured on the local clock, not the store clock (Redis 30 s behind)', async () => {
    const store = memoryStore({ now: () => Date.now() - 30_000 })
    const cache = createCache({ store, ttl: 600_000, jitter: 0 })
    const ttls: number[] = []
    const set = cache.set.bind(cache)
    cache.set = (key, value, options) => {
      if (options?.ttl !== undefined) ttls.push(options.ttl)
      return set(key, value, options)
    }
    const { base } = await app(cache)
    const q = new URLSearchParams({ expires: new Date(Date.now() + 10_000).toUTCString() })
    expect((await get(base, `/h?${q}`)).headers['x-cache']).toBe('MISS')
    expect(ttls).toHaveLength(1)
    // The route said: fresh for (at most) 10 more seconds (Expires has whole seconds).
    expect(ttls[0]).toBeLessThanOrEqual(10_000)
    expect(ttls[0]).toBeGreaterThan(8_000)
  })
})

describe('the Vary header-list entry', () => {
  it("a short-lived variant does not make a long-lived variant's entry unreachable", async () => {
    let t = Date.parse('2026-12-01T12:00:00Z')
    const cache = createCache({ ttl: 600_000, jitter: 0, now: () => t })
    const { base, calls } = await app(cache)
    const region = async (r: string) =>
      (await get(base, '/v', { 'x-region': r })).headers['x-cache']
    expect(await region('eu')).toBe('MISS')
    expect(await region('eu')).toBe('HIT')
    expect(await region('us')).toBe('MISS')
    t += 2000 // the US variant (max-age=1) is gone; the EU one has 598 s left
    expect(await region('eu')).toBe('HIT')
    expect(calls()).toBe(2)
  })
})
