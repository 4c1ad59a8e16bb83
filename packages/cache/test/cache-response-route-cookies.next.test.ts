/**
 * `cacheResponse` inside a real Next 16 server (the adapters' fixture app, its `/test-hook` route
 * running the middleware installed here): a route handler that sets a cookie through Next's
 * `cookies().set()` gets it added by Next only after `withAikit` returned the Response. The kit
 * reads those cookies first (`ROUTE_COOKIES`), so such a response is never stored: before, with
 * `shared: true`, the first visitor's answer (its session id) was a HIT for the next visitor.
 */
import { cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  buildFixture,
  type FixtureServer,
  loadNext,
  serve,
} from '../../adapters/test/fixtures/next-app/harness.js'

const HOOK = Symbol.for('aikit.test.nextHook')
const hooks = globalThis as Record<symbol, Middleware | undefined>

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

afterEach(() => {
  hooks[HOOK] = undefined
})

async function get(path: string): Promise<{ headers: Headers; body: Record<string, unknown> }> {
  if (server === undefined) throw new Error('the Next server did not start')
  const res = await fetch(`${server.url}${path}`)
  return { headers: res.headers, body: (await res.json()) as Record<string, unknown> }
}

describe('cacheResponse in a real Next server: cookies set with cookies().set()', () => {
  it('a response whose handler set a cookie is not stored, even with shared: true', async () => {
    hooks[HOOK] = cacheResponse({ cache: createCache(), shared: true })
    const first = await get('/test-hook?set-cookie=sid')
    const second = await get('/test-hook?set-cookie=sid')
    // Each visitor gets its own session: the second answer is not the first one replayed.
    expect(second.headers.get('x-cache')).toBe('MISS')
    expect(second.body.sid).not.toBe(first.body.sid)
    for (const { headers, body } of [first, second]) {
      // One Set-Cookie line for the cookie (Next's own merge adds no second), attributes kept.
      const lines = headers.getSetCookie().filter((line) => line.startsWith('sid='))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`sid=${body.sid as string}`)
      expect(lines[0]?.toLowerCase()).toContain('httponly')
    }
  })

  it('a response without cookies is stored and replayed (the same route, the same set-up)', async () => {
    hooks[HOOK] = cacheResponse({ cache: createCache(), shared: true })
    const first = await get('/test-hook?plain=1')
    const second = await get('/test-hook?plain=1')
    expect(first.headers.get('x-cache')).toBe('MISS')
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.body).toEqual({ ok: true })
    expect(second.headers.getSetCookie()).toEqual([])
  })
})
