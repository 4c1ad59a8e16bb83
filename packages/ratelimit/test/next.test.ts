/**
 * `rateLimit()` with its default key inside a real Next 16 server (the adapters' fixture app, its
 * `/test-hook` route running the middleware this test installs on `globalThis`):
 * - with `trustProxy` configured, the client IP is the key: 429 after the limit, per IP;
 * - a subject set by an earlier middleware is the key;
 * - with Next's default options `ctx.ip` is undefined: requests pass unchecked, counted in
 *   `stats().unkeyed`, with a one-time warning; `unkeyed: 'reject'` answers 403.
 */
import { compose, type Middleware } from '@aikit/core'
import { rateLimit } from '@aikit/ratelimit'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  buildFixture,
  type FixtureServer,
  loadNext,
  serve,
} from '../../adapters/test/fixtures/next-app/harness.js'
import { PROFILE_HEADER } from '../../adapters/test/fixtures/next-app/lib/profiles.js'

const HOOK = Symbol.for('aikit.test.nextHook')
const hooks = globalThis as Record<symbol, Middleware | undefined>

let next: Awaited<ReturnType<typeof loadNext>> | undefined
let plain: FixtureServer | undefined
let trusted: FixtureServer | undefined

beforeAll(async () => {
  await buildFixture()
  next = await loadNext()
  plain = await serve(next.handle)
  trusted = await serve(next.handle, { [PROFILE_HEADER]: 'trusted-loopback' })
}, 300_000)

afterAll(async () => {
  await Promise.all([plain?.close(), trusted?.close()])
  await next?.close()
})

afterEach(() => {
  hooks[HOOK] = undefined
  vi.restoreAllMocks()
})

async function get(
  server: FixtureServer | undefined,
  headers: Record<string, string> = {}
): Promise<{ status: number; headers: Headers; body: unknown }> {
  if (server === undefined) throw new Error('the Next server did not start')
  const res = await fetch(`${server.url}/test-hook`, { headers })
  return { status: res.status, headers: res.headers, body: await res.json() }
}

const LIMITS = [{ limit: 2, window: '1m' }] as const

describe('rateLimit() in a real Next server', () => {
  it('with trustProxy configured: 429 after the limit, counted per client IP', async () => {
    const mw = rateLimit({ limits: LIMITS })
    hooks[HOOK] = mw
    const a = { 'x-forwarded-for': '203.0.113.1' }
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await get(trusted, a)).status)
    expect(statuses).toEqual([200, 200, 429])
    const denied = await get(trusted, a)
    expect(denied.body).toMatchObject({ error: { code: 'RATE_LIMITED' } })
    expect(denied.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(denied.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/)
    // Another client IP has its own bucket.
    const b = await get(trusted, { 'x-forwarded-for': '203.0.113.2' })
    expect(b.status).toBe(200)
    expect(b.headers.get('ratelimit')).toMatch(/^"default";r=1;t=\d+$/)
    expect(mw.stats()).toEqual({ checked: 5, unkeyed: 0 })
  })

  it('keys by ctx.state.subject set by an earlier middleware, even without a client IP', async () => {
    const mw = rateLimit({ limits: LIMITS })
    const authenticate: Middleware = async (ctx, nextMw) => {
      const user = ctx.header('x-user')
      if (user !== undefined) ctx.state.subject = user
      await nextMw()
    }
    hooks[HOOK] = compose(authenticate, mw)
    const alice = [
      await get(plain, { 'x-user': 'alice' }),
      await get(plain, { 'x-user': 'alice' }),
      await get(plain, { 'x-user': 'alice' }),
    ]
    expect(alice.map((r) => r.status)).toEqual([200, 200, 429])
    expect((await get(plain, { 'x-user': 'bob' })).status).toBe(200)
    expect(mw.stats()).toEqual({ checked: 4, unkeyed: 0 })
  })

  it('with the default options ctx.ip is undefined: requests pass, counted, warned once', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {})
    const mw = rateLimit({ limits: LIMITS })
    hooks[HOOK] = mw
    const statuses = []
    for (let i = 0; i < 4; i++) {
      const res = await get(plain, { 'x-forwarded-for': '203.0.113.3' })
      statuses.push(res.status)
      expect(res.headers.get('ratelimit')).toBeNull()
    }
    expect(statuses).toEqual([200, 200, 200, 200])
    expect(mw.stats()).toEqual({ checked: 0, unkeyed: 4 })
    const ours = warn.mock.calls.filter(
      (call) => (call[1] as { code?: string } | undefined)?.code === 'AIKIT_RATELIMIT_UNKEYED'
    )
    expect(ours).toHaveLength(1)
  })

  it("with unkeyed: 'reject' an unidentified request gets 403 UNIDENTIFIED_CLIENT", async () => {
    const mw = rateLimit({ limits: LIMITS, unkeyed: 'reject' })
    hooks[HOOK] = mw
    const res = await get(plain)
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.body).toMatchObject({ error: { code: 'UNIDENTIFIED_CLIENT' } })
    expect(mw.stats()).toEqual({ checked: 0, unkeyed: 1 })
  })
})
