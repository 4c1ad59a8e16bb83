/**
 * cacheResponse over real HTTP (Express and Fastify through the AI Kit adapters): hits replay the
 * body and headers with X-Cache/Age, subjects and Hosts never share, the response's own Vary and
 * Content-Encoding are honoured, a hit answers conditional requests with 304, the route's freshness
 * lifetime caps the entry's, and errors, Set-Cookie, private, no-store, `Vary: *` and CSP-nonce
 * pages are never cached.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync, gzipSync } from 'node:zlib'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { type Cache, cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { securityHeaders } from '../../security/src/index.js'
import { type Got, rawGet as get } from './fixtures/raw-get.js'

const servers: Server[] = []
const apps: FastifyInstance[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.map((s) => new Promise((resolve) => s.close(resolve))),
    ...apps.map((a) => a.close()),
  ])
})

/** Sets the subject from an `x-user` header (stands in for an auth middleware). */
const subjectFromHeader: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user !== undefined) ctx.state.subject = user
  await next()
}

interface Counters {
  calls: number
}

/** How a test app is built: its cache (default `createCache()`) and `shared`. */
interface AppOptions {
  cache?: Cache
  shared?: boolean
  /** Middleware run before the subject and the cache (e.g. securityHeaders). */
  before?: Middleware[]
}

const LAST_MODIFIED = 'Tue, 01 Dec 2026 00:00:00 GMT'
const GZIPPED = gzipSync(Buffer.from(JSON.stringify({ hello: 'world' })))

function chain(options: AppOptions): Middleware[] {
  return [
    ...(options.before ?? []),
    subjectFromHeader,
    cacheResponse({ cache: options.cache ?? createCache(), shared: options.shared ?? false }),
  ]
}

async function expressApp(counters: Counters, options: AppOptions = {}): Promise<string> {
  const app = express()
  app.use(toExpress(...chain(options)))
  app.get('/data', (req, res) => {
    counters.calls++
    res
      .set('etag', '"v1"')
      .set('last-modified', LAST_MODIFIED)
      .json({ user: req.header('x-user') ?? null, n: counters.calls })
  })
  app.get('/error', (_req, res) => {
    counters.calls++
    res.status(500).json({ n: counters.calls })
  })
  app.get('/cookie', (_req, res) => {
    counters.calls++
    res.cookie('sid', 'secret').json({ n: counters.calls })
  })
  app.get('/private', (_req, res) => {
    counters.calls++
    res.set('cache-control', 'private, max-age=60').json({ n: counters.calls })
  })
  app.get('/page', (req, res) => {
    counters.calls++
    // A typical page: an absolute link built from the request's Host.
    res.json({ canonical: `https://${req.header('host')}/page` })
  })
  app.get('/region', (req, res) => {
    counters.calls++
    res.set('vary', 'Accept, X-Region').json({ region: req.header('x-region') ?? 'none' })
  })
  app.get('/star', (_req, res) => {
    counters.calls++
    res.set('vary', '*').json({ n: counters.calls })
  })
  app.get('/asset', (_req, res) => {
    counters.calls++
    res.set('content-type', 'application/json').set('content-encoding', 'gzip').end(GZIPPED)
  })
  app.get('/fresh', (req, res) => {
    counters.calls++
    for (const name of ['cache-control', 'expires', 'age']) {
      const value = req.query[name]
      if (typeof value === 'string') res.set(name, value)
    }
    res.json({ n: counters.calls })
  })
  app.get('/csp', (_req, res) => {
    counters.calls++
    res.type('html').send(`<script nonce="${res.locals.cspNonce}">boot()</script>`)
  })
  app.get('/own-csp', (_req, res) => {
    counters.calls++
    res.set('content-security-policy', "script-src 'nonce-abc'").type('html').send('<p>x</p>')
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function fastifyApp(counters: Counters, options: AppOptions = {}): Promise<string> {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: chain(options) })
  app.get('/data', async (req, reply) => {
    counters.calls++
    reply.header('etag', '"v1"').header('last-modified', LAST_MODIFIED)
    return { user: req.headers['x-user'] ?? null, n: counters.calls }
  })
  app.get('/error', async (_req, reply) => {
    counters.calls++
    return reply.code(500).send({ n: counters.calls })
  })
  app.get('/cookie', async (_req, reply) => {
    counters.calls++
    reply.header('set-cookie', 'sid=secret')
    return { n: counters.calls }
  })
  app.get('/private', async (_req, reply) => {
    counters.calls++
    reply.header('cache-control', 'private, max-age=60')
    return { n: counters.calls }
  })
  app.get('/page', async (req) => {
    counters.calls++
    return { canonical: `https://${req.headers.host}/page` }
  })
  app.get('/region', async (req, reply) => {
    counters.calls++
    reply.header('vary', 'Accept, X-Region')
    return { region: req.headers['x-region'] ?? 'none' }
  })
  app.get('/star', async (_req, reply) => {
    counters.calls++
    reply.header('vary', '*')
    return { n: counters.calls }
  })
  app.get('/asset', async (_req, reply) => {
    counters.calls++
    return reply
      .header('content-type', 'application/json')
      .header('content-encoding', 'gzip')
      .send(GZIPPED)
  })
  app.get('/fresh', async (req, reply) => {
    counters.calls++
    const query = req.query as Record<string, string | undefined>
    for (const name of ['cache-control', 'expires', 'age']) {
      const value = query[name]
      if (value !== undefined) reply.header(name, value)
    }
    return { n: counters.calls }
  })
  app.get('/csp', async (_req, reply) => {
    counters.calls++
    const nonce = (reply as unknown as { cspNonce?: string }).cspNonce
    return reply.type('text/html').send(`<script nonce="${nonce}">boot()</script>`)
  })
  app.get('/own-csp', async (_req, reply) => {
    counters.calls++
    return reply
      .header('content-security-policy', "script-src 'nonce-abc'")
      .type('text/html')
      .send('<p>x</p>')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const json = (got: Got): unknown => JSON.parse(got.body.toString('utf8'))

/** A clock for `createCache({ now })`: entries expire when the test says so. */
function testClock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.parse('2026-12-01T12:00:00Z')
  return {
    now: () => t,
    advance: (ms) => {
      t += ms
    },
  }
}

describe.each([
  ['Express', expressApp],
  ['Fastify', fastifyApp],
])('cacheResponse over real HTTP on %s', (_name, start) => {
  it('MISS then HIT with the same body and headers, per subject; no subject bypasses', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    const get = (user?: string, extra: Record<string, string> = {}) =>
      fetch(`${base}/data?x=1`, { headers: { ...(user ? { 'x-user': user } : {}), ...extra } })
    const first = await get('alice')
    expect(first.headers.get('x-cache')).toBe('MISS')
    const firstBody = await first.text()
    const second = await get('alice')
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('age')).toMatch(/^\d+$/)
    expect(second.headers.get('etag')).toBe('"v1"')
    expect(second.headers.get('content-type')).toContain('application/json')
    expect(await second.text()).toBe(firstBody)
    expect(counters.calls).toBe(1)

    const bob = await get('bob')
    expect(bob.headers.get('x-cache')).toBe('MISS')
    expect(JSON.parse(await bob.text())).toMatchObject({ user: 'bob' })
    expect(counters.calls).toBe(2)

    const anonymous = await get()
    expect(anonymous.headers.get('x-cache')).toBe('BYPASS')
    await anonymous.text()
    const refreshed = await get('alice', { 'cache-control': 'no-cache' })
    expect(refreshed.headers.get('x-cache')).toBe('MISS')
    await refreshed.text()
    expect(counters.calls).toBe(4)
  })

  it('never caches errors, Set-Cookie responses or private responses', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    for (const path of ['/error', '/cookie', '/private']) {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${base}${path}`, { headers: { 'x-user': 'alice' } })
        expect(res.headers.get('x-cache')).toBe('MISS')
        await res.text()
      }
    }
    expect(counters.calls).toBe(6)
  })

  it('keys on the Host: a forged Host cannot poison another, virtual hosts never share', async () => {
    const counters = { calls: 0 }
    const base = await start(counters, { shared: true })
    // The attacker primes the cache with a forged Host; the victim asks for the real site.
    const poisoned = await get(base, '/page', { host: 'evil.example' })
    expect(poisoned.headers['x-cache']).toBe('MISS')
    const victim = await get(base, '/page', { host: 'shop.example' })
    expect(victim.headers['x-cache']).toBe('MISS')
    expect(json(victim)).toEqual({ canonical: 'https://shop.example/page' })
    // The Host is compared case-insensitively; each host still hits its own entry.
    const again = await get(base, '/page', { host: 'SHOP.example' })
    expect(again.headers['x-cache']).toBe('HIT')
    expect(json(again)).toEqual({ canonical: 'https://shop.example/page' })
    expect(json(await get(base, '/page', { host: 'evil.example' }))).toEqual({
      canonical: 'https://evil.example/page',
    })
    expect(counters.calls).toBe(2)
  })

  it("honours the response's own Vary: one variant per value, Vary: * never replayed", async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    const region = (value: string) => get(base, '/region', { 'x-user': 'alice', 'x-region': value })
    expect((await region('eu')).headers['x-cache']).toBe('MISS')
    const us = await region('us')
    expect(us.headers['x-cache']).toBe('MISS')
    expect(json(us)).toEqual({ region: 'us' })
    for (const value of ['eu', 'us']) {
      const hit = await region(value)
      expect(hit.headers['x-cache']).toBe('HIT')
      expect(json(hit)).toEqual({ region: value })
      expect(hit.headers.vary).toBe('Accept, X-Region')
    }
    expect(counters.calls).toBe(2)

    for (let i = 0; i < 2; i++) {
      const star = await get(base, '/star', { 'x-user': 'alice' })
      expect(star.headers['x-cache']).toBe('MISS')
    }
    expect(counters.calls).toBe(4)
  })

  it('a hit on a response without Vary costs one cache lookup; with Vary, two', async () => {
    const cache = createCache()
    const lookups = vi.spyOn(cache, 'get')
    const base = await start({ calls: 0 }, { cache })
    await get(base, '/data', { 'x-user': 'alice' })
    await get(base, '/region', { 'x-user': 'alice', 'x-region': 'eu' })
    lookups.mockClear()
    expect((await get(base, '/data', { 'x-user': 'alice' })).headers['x-cache']).toBe('HIT')
    expect(lookups).toHaveBeenCalledTimes(1)
    lookups.mockClear()
    const varied = await get(base, '/region', { 'x-user': 'alice', 'x-region': 'eu' })
    expect(varied.headers['x-cache']).toBe('HIT')
    expect(lookups).toHaveBeenCalledTimes(2)
  })

  it('inside compress(), a miss and a hit are both compressed and the entry holds the plain body', async () => {
    const counters = { calls: 0 }
    const cache = createCache()
    const base = await start(counters, { cache, before: [compress({ threshold: 0 })] })
    const gz = { 'x-user': 'alice', 'accept-encoding': 'gzip' }
    const miss = await get(base, '/data', gz)
    const hit = await get(base, '/data', gz)
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT'])
    for (const res of [miss, hit]) {
      expect(res.headers['content-encoding']).toBe('gzip')
      expect(JSON.parse(gunzipSync(res.body).toString())).toMatchObject({ n: 1 })
    }
    // A client that takes no encoding gets the same entry, uncompressed.
    const plain = await get(base, '/data', { 'x-user': 'alice' })
    expect(plain.headers['x-cache']).toBe('HIT')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(JSON.parse(plain.body.toString())).toMatchObject({ n: 1 })
    expect(counters.calls).toBe(1)
  })

  it('replays a pre-compressed body with its Content-Encoding, per Accept-Encoding', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    const asset = (encoding?: string) =>
      get(base, '/asset', {
        'x-user': 'alice',
        ...(encoding ? { 'accept-encoding': encoding } : {}),
      })
    const miss = await asset('gzip')
    expect(miss.headers['x-cache']).toBe('MISS')
    expect(miss.headers['content-encoding']).toBe('gzip')
    const hit = await asset('gzip')
    expect(hit.headers['x-cache']).toBe('HIT')
    expect(hit.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(gunzipSync(hit.body).toString('utf8'))).toEqual({ hello: 'world' })
    // Accept-Encoding is part of the key of an encoded response: another value is another entry.
    expect((await asset('br')).headers['x-cache']).toBe('MISS')
    expect((await asset()).headers['x-cache']).toBe('MISS')
    expect(counters.calls).toBe(3)
  })

  it('a hit answers If-None-Match / If-Modified-Since with 304 and the validators, no body', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    const doc = (headers: Record<string, string> = {}) =>
      get(base, '/data', { 'x-user': 'alice', ...headers })
    expect((await doc()).headers['x-cache']).toBe('MISS')
    const before = new Date(Date.parse(LAST_MODIFIED) - 1000).toUTCString()
    const notModified = [
      { 'if-none-match': '"v1"' },
      { 'if-none-match': 'W/"v1"' },
      { 'if-none-match': '"v0", W/"v1"' },
      { 'if-none-match': '*' },
      { 'if-modified-since': LAST_MODIFIED },
    ]
    for (const conditions of notModified) {
      const res = await doc(conditions)
      expect({ conditions, status: res.status, xCache: res.headers['x-cache'] }).toEqual({
        conditions,
        status: 304,
        xCache: 'HIT',
      })
      expect(res.headers.etag).toBe('"v1"')
      expect(res.headers['last-modified']).toBe(LAST_MODIFIED)
      expect(res.headers['content-type']).toBeUndefined()
      expect(res.body.byteLength).toBe(0)
    }
    const modified = [
      { 'if-none-match': '"v2"' },
      { 'if-modified-since': before },
      { 'if-modified-since': 'not a date' },
      // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
      { 'if-none-match': '"v2"', 'if-modified-since': LAST_MODIFIED },
    ]
    for (const conditions of modified) {
      const res = await doc(conditions)
      expect({ conditions, status: res.status, xCache: res.headers['x-cache'] }).toEqual({
        conditions,
        status: 200,
        xCache: 'HIT',
      })
      expect(json(res)).toEqual({ user: 'alice', n: 1 })
    }
    expect(counters.calls).toBe(1)
  })

  it("caps an entry's lifetime by the route's s-maxage / max-age / Expires", async () => {
    const counters = { calls: 0 }
    const clock = testClock()
    const cache = createCache({ ttl: 60_000, jitter: 0, now: clock.now })
    const base = await start(counters, { cache })
    const fresh = async (query: Record<string, string>) => {
      const res = await get(base, `/fresh?${new URLSearchParams(query)}`, { 'x-user': 'alice' })
      return { xCache: res.headers['x-cache'], age: res.headers.age, body: json(res) }
    }
    const maxAge1 = { 'cache-control': 'public, max-age=1' }
    expect(await fresh(maxAge1)).toEqual({ xCache: 'MISS', age: undefined, body: { n: 1 } })
    expect(await fresh(maxAge1)).toMatchObject({ xCache: 'HIT', body: { n: 1 } })
    clock.advance(1000)
    expect(await fresh(maxAge1)).toEqual({ xCache: 'MISS', age: undefined, body: { n: 2 } })

    // Longer than the cache's ttl: the ttl wins.
    const long = { 'cache-control': 'max-age=3600' }
    await fresh(long)
    clock.advance(30_000)
    expect(await fresh(long)).toMatchObject({ xCache: 'HIT', age: '30' })
    clock.advance(30_000)
    expect(await fresh(long)).toMatchObject({ xCache: 'MISS' })

    // s-maxage (a shared cache's lifetime) wins over max-age.
    const shared = { 'cache-control': 'max-age=3600, s-maxage=2' }
    await fresh(shared)
    clock.advance(2000)
    expect(await fresh(shared)).toMatchObject({ xCache: 'MISS' })

    // The route's own Age counts against its lifetime.
    const aged = { 'cache-control': 'max-age=60', age: '50' }
    await fresh(aged)
    expect(await fresh(aged)).toMatchObject({ xCache: 'HIT', age: '50' })
    clock.advance(10_000)
    expect(await fresh(aged)).toMatchObject({ xCache: 'MISS' })

    // Expires is this machine's time (Date.now()), whatever the cache's (store's) clock says: the
    // time left is measured locally, then counted on the cache's clock.
    const expires = { expires: new Date(Date.now() + 10_000).toUTCString() }
    await fresh(expires)
    clock.advance(5000)
    expect(await fresh(expires)).toMatchObject({ xCache: 'HIT' })
    clock.advance(5000)
    expect(await fresh(expires)).toMatchObject({ xCache: 'MISS' })

    // Never stored: no lifetime left, or revalidation required.
    for (const query of [
      { 'cache-control': 'no-cache' },
      { 'cache-control': 'public, no-cache="set-cookie"' },
      { 'cache-control': 'private="x-user"' },
      { 'cache-control': 'max-age=0' },
      { 'cache-control': 's-maxage=0, max-age=60' },
      { 'cache-control': 'max-age=soon' },
      { expires: '0' },
      { expires: new Date(Date.now() - 1000).toUTCString() },
    ]) {
      await fresh(query)
      expect({ query, ...(await fresh(query)) }).toMatchObject({ query, xCache: 'MISS' })
    }
  })

  it('never stores a page carrying a CSP nonce (its body would not match the next nonce)', async () => {
    const counters = { calls: 0 }
    const base = await start(counters, {
      before: [securityHeaders({ contentSecurityPolicy: { nonce: true } })],
    })
    const check = async () => {
      const res = await get(base, '/csp', { 'x-user': 'alice' })
      const csp = String(res.headers['content-security-policy'] ?? '')
      const headerNonce = /'nonce-([^']+)'/.exec(csp)?.[1]
      const bodyNonce = /nonce="([^"]+)"/.exec(res.body.toString('utf8'))?.[1]
      return {
        xCache: res.headers['x-cache'],
        match: headerNonce !== undefined && headerNonce === bodyNonce,
      }
    }
    expect(await check()).toEqual({ xCache: 'MISS', match: true })
    expect(await check()).toEqual({ xCache: 'MISS', match: true })
    expect(counters.calls).toBe(2)
  })

  it('never stores a response whose own CSP header carries a nonce', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    for (let i = 0; i < 2; i++) {
      expect((await get(base, '/own-csp', { 'x-user': 'alice' })).headers['x-cache']).toBe('MISS')
    }
    expect(counters.calls).toBe(2)
  })
})
