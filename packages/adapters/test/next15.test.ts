/**
 * The `next` subpath on Next 15 (the `next-v15` devDependency, fixtures/next15-app): aikitProxy as
 * an Edge-runtime `middleware.ts` (the assertions of next.edge.test.ts) and App Router route
 * handlers wrapped with withAikit, in a real Next 15 server over HTTP on 127.0.0.1.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildFixture,
  type FixtureServer,
  loadNext,
  NEXT15_FIXTURE_DIR,
  NEXT15_VERSION,
  serve,
} from './fixtures/next15-app/harness.js'

let next: Awaited<ReturnType<typeof loadNext>> | undefined
let server: FixtureServer | undefined

beforeAll(async () => {
  await buildFixture()
  next = await loadNext()
  server = await serve(next.handle)
}, 300_000)

afterAll(async () => {
  await server?.close()
  await next?.close()
})

function request(p: string, init?: RequestInit): Promise<Response> {
  if (server === undefined) throw new Error('server did not start')
  return fetch(`${server.url}${p}`, init)
}

/** The Next majors whose files a build output names (pnpm store paths such as `next@15.5.29_…`). */
function nextMajorsIn(file: string): string[] {
  const text = readFileSync(path.join(NEXT15_FIXTURE_DIR, '.next', file), 'utf8')
  return [...new Set([...text.matchAll(/next@(\d+)\./g)].map((m) => m[1] ?? ''))]
}

it('runs on Next 15.5, the lowest major of the peer range', () => {
  expect(NEXT15_VERSION).toMatch(/^15\.5\.\d+$/)
})

it("bundles Next 15's next/server into the adapter, not the workspace's Next 16", () => {
  // The Edge middleware bundle (its source map lists every bundled file) and the files the Node
  // route needs at runtime: only Next 15's.
  expect(nextMajorsIn('server/middleware.js.map')).toEqual(['15'])
  expect(nextMajorsIn('server/app/api/wrapped/[kind]/route.js.nft.json')).toEqual(['15'])
})

describe('aikitProxy in a Next 15 Edge middleware.ts', () => {
  it('adds headers, runs onHeaders with 200 and forwards a request header', async () => {
    const res = await request('/edge/echo')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-edge')).toBe('yes')
    expect(res.headers.get('x-edge-status')).toBe('200')
    expect(res.headers.get('x-edge-context')).toBe('true')
    expect(await res.json()).toEqual({ nonce: 'edge-nonce' })
  })

  it('short-circuits with a 429 JSON response and its headers', async () => {
    const res = await request('/edge/limited')
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(await res.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Too many requests' },
    })
  })
})

describe('withAikit around a Next 15 App Router route handler', () => {
  it("adds the middleware headers, runs onHeaders with the route's status, passes params", async () => {
    const res = await request('/api/wrapped/echo')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-mw')).toBe('yes')
    expect(res.headers.get('x-mw-status')).toBe('200')
    expect(await res.json()).toEqual({ kind: 'echo', nextUrlPath: '/api/wrapped/echo' })
  })

  it('gives onHeaders a status the route chose', async () => {
    const res = await request('/api/wrapped/created')
    expect(res.status).toBe(201)
    expect(res.headers.get('x-mw-status')).toBe('201')
    expect(await res.text()).toBe('made')
  })

  it('hands a JSON body the middleware read on to the handler', async () => {
    const res = await request('/api/wrapped/body', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 5 }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-mw-body')).toBe('5')
    expect(await res.json()).toEqual({ n: 5 })
  })

  it('streams the route body through', async () => {
    const res = await request('/api/wrapped/stream')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-mw')).toBe('yes')
    expect(await res.text()).toBe('chunk0;chunk1;chunk2;')
  })

  it('short-circuits with a 429 JSON response before the handler', async () => {
    const res = await request('/api/wrapped/limited')
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('7')
    expect(await res.json()).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Too many requests' },
    })
  })

  it('answers a handler error with the JSON error shape, no message', async () => {
    const res = await request('/api/wrapped/throws')
    expect(res.status).toBe(500)
    expect(res.headers.get('x-mw-status')).toBe('500')
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain('secret-route-detail')
  })
})

describe('withAikit on Next 15: cookies set with cookies() from next/headers', () => {
  it('are on the head a middleware reads once it asked for them (ROUTE_COOKIES), sent once', async () => {
    const res = await request('/api/wrapped/cookie')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-head-cookie')).toMatch(/^sid=from-next-15; Path=\/; HttpOnly$/i)
    const lines = res.headers.getSetCookie().filter((line) => line.startsWith('sid='))
    expect(lines).toHaveLength(1)
    await res.arrayBuffer()
  })
})
