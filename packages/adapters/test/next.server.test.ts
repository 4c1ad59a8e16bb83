/**
 * withAikit and aikitProxy inside a real Next 16 server (the fixture in fixtures/next-app):
 * proxy.ts built with aikitProxy, Next-specific route behaviours, and IP resolution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixture, type FixtureServer, loadNext, serve } from './fixtures/next-app/harness.js'
import { PROFILE_HEADER } from './fixtures/next-app/lib/profiles.js'

let next: Awaited<ReturnType<typeof loadNext>> | undefined
let server: FixtureServer | undefined
let trusted: FixtureServer | undefined

beforeAll(async () => {
  await buildFixture()
  next = await loadNext()
  server = await serve(next.handle)
  trusted = await serve(next.handle, { [PROFILE_HEADER]: 'trusted-loopback' })
}, 300_000)

afterAll(async () => {
  await Promise.all([server?.close(), trusted?.close()])
  await next?.close()
})

const url = (p: string, base = server): string => {
  if (base === undefined) throw new Error('server did not start')
  return `${base.url}${p}`
}

let ids = 0
async function seen(id: string): Promise<{ status?: number; finished?: { aborted: boolean } }> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(url(`/api/extra/seen?id=${id}`))
    const record = (await res.json()) as { status?: number; finished?: { aborted: boolean } } | null
    if (record?.finished !== undefined) return record
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`no finished record for ${id}`)
}

function get(p: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url(p), { headers, redirect: 'manual' })
}

describe('aikitProxy in proxy.ts', () => {
  it('puts headers set before next() on the response and runs onHeaders with 200', async () => {
    const res = await get('/proxy/echo')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-proxy')).toBe('yes')
    expect(res.headers.get('x-proxy-status')).toBe('200')
    await res.arrayBuffer()
  })

  it('passes a request header (x-nonce) on to the route', async () => {
    const res = await get('/proxy/echo', { 'x-client': 'c1', 'x-nonce': 'client-value' })
    expect(await res.json()).toEqual({ nonce: 'bm9uY2UtZnJvbS1wcm94eQ', client: 'c1' })
  })

  it("gives Next the nonce from the request's CSP header for its own scripts", async () => {
    const res = await get('/proxy/page')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('<p id="nonce">bm9uY2UtZnJvbS1wcm94eQ</p>')
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])
    expect(scripts.length).toBeGreaterThan(0)
    for (const tag of scripts) expect(tag).toContain('nonce="bm9uY2UtZnJvbS1wcm94eQ"')
  })

  it('short-circuits with a 429 JSON response', async () => {
    const res = await get('/proxy/limited')
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Too many requests' },
    })
  })

  it('turns an error thrown in the proxy into the JSON error shape', async () => {
    const res = await get('/proxy/throws')
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain('secret-proxy-detail')
  })

  it('does not run on paths outside its matcher', async () => {
    const res = await get('/api/extra/params')
    expect(res.headers.get('x-proxy')).toBeNull()
    await res.arrayBuffer()
  })
})

describe('withAikit in route handlers', () => {
  it("passes Next's params and the NextRequest through", async () => {
    const res = await get('/api/extra/params')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-mw')).toBe('yes')
    expect(res.headers.get('x-mw-status')).toBe('200')
    expect(await res.json()).toEqual({ kind: 'params', nextUrlPath: '/api/extra/params' })
  })

  it('adds middleware headers to a Response with immutable headers (Response.redirect)', async () => {
    const res = await get('/api/extra/immutable')
    expect(res.status).toBe(302)
    expect(new URL(res.headers.get('location') ?? '', url('/')).pathname).toBe('/target')
    expect(res.headers.get('x-mw')).toBe('yes')
    expect(res.headers.get('x-mw-status')).toBe('302')
  })

  it("sees Next's redirect() as a 307 the middleware can observe", async () => {
    const id = `r${++ids}`
    const res = await get('/api/extra/next-redirect', { 'x-test-id': id })
    expect(res.status).toBe(307)
    expect(res.headers.get('location')).toBe('/target')
    expect(res.headers.get('x-mw-status')).toBe('307')
    expect(await seen(id)).toEqual({ status: 307, finished: { aborted: false } })
  })

  it("keeps the route's own header over the middleware's", async () => {
    const res = await get('/api/extra/own-cache-control')
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    expect(res.headers.get('x-mw')).toBe('yes')
    expect(await res.text()).toBe('ok')
  })

  it('hands request headers set by a middleware to the handler', async () => {
    const res = await get('/api/extra/request-header')
    expect(await res.json()).toEqual({ nonce: 'route-nonce' })
  })

  it('answers a handler error with the JSON error shape, no message', async () => {
    const res = await get('/api/extra/throws')
    expect(res.status).toBe(500)
    expect(res.headers.get('x-mw-status')).toBe('500')
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain('secret-route-detail')
  })

  it('streams the route body and finishes once it was read', async () => {
    const id = `s${++ids}`
    const res = await get('/api/extra/stream', { 'x-test-id': id })
    expect(await res.text()).toBe('chunk0;chunk1;chunk2;')
    expect(await seen(id)).toEqual({ status: 200, finished: { aborted: false } })
  })

  it("reads a respond() stream body inside the request's context", async () => {
    // Next's response writer pulls the body after withAikit returned, outside the request's
    // AsyncLocalStorage scope: what a body's chunks log (the LLM wrapper's line at a stream's
    // end) lost the request's subject and route.
    const id = `s${++ids}`
    const res = await get('/api/extra/stream-context', { 'x-test-id': id })
    expect(await res.text()).toBe(`${id};${id};`)
  })
})

describe('ctx.ip on next start', () => {
  it('pins what Next does with X-Forwarded-For: fills in the peer only when absent', async () => {
    // If a Next release starts appending the peer, withAikit's default could use the last hop.
    const none = await get('/proxy/echo')
    expect(none.headers.get('x-proxy-xff')).toBe('127.0.0.1')
    const spoofed = await get('/proxy/echo', { 'x-forwarded-for': '203.0.113.9' })
    expect(spoofed.headers.get('x-proxy-xff')).toBe('203.0.113.9')
    await Promise.all([none.arrayBuffer(), spoofed.arrayBuffer()])
  })

  it('is undefined by default: a client-sent X-Forwarded-For is not believed', async () => {
    const res = await get('/ip', { 'x-forwarded-for': '203.0.113.9' })
    expect(await res.json()).toEqual({ ip: null })
    const plain = await get('/ip')
    expect(await plain.json()).toEqual({ ip: null })
  })

  it("with trustProxy 'loopback', uses the socket address Next puts in X-Forwarded-For", async () => {
    const res = await fetch(url('/ip', trusted))
    expect(await res.json()).toEqual({ ip: '127.0.0.1' })
  })
})
