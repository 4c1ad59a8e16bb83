/**
 * cors() listed LAST, behind middleware that refuse requests (an authentication check, bodyLimit,
 * rateLimit), on every adapter over real servers: `compose` runs it before them (marked 'early',
 * after securityHeaders), so a preflight is answered before authentication could refuse it
 * (browsers send preflights without credentials), and the kit's 401/413/429 answers carry
 * Access-Control-Allow-Origin, so the page can read them instead of seeing a CORS failure.
 */
import { AikitError, type Middleware } from '@aikit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rateLimit } from '../../ratelimit/src/index.js'
import { bodyLimit } from '../src/body-limit.js'
import { cors } from '../src/cors.js'
import { securityHeaders } from '../src/headers.js'
import { type Calls, echoRoute } from './attack-chains.js'
import { STACKS, type Stack } from './headers-stacks.js'

const ORIGIN = 'https://app.example.com'

class UnauthorizedError extends AikitError {
  constructor() {
    super('UNAUTHORIZED', 401, 'sign in first')
  }
}

/** Refuses every request without an Authorization header (preflights carry none). */
const requireAuth: Middleware = async function requireAuth(ctx, next) {
  if (ctx.header('authorization') === undefined) throw new UnauthorizedError()
  await next()
}

const chain = (calls: Calls): Middleware[] => [
  requireAuth,
  bodyLimit({ maxBytes: 64 }),
  rateLimit({
    limits: [{ limit: 1, window: '1m' }],
    keyBy: (ctx) => ctx.header('x-rate-key'),
    headers: false,
  }),
  echoRoute(calls),
  cors({ origin: [ORIGIN], credentials: true }),
  securityHeaders(),
]

describe.each(STACKS)('cors listed last, on %s', (_name, factory) => {
  const calls: Calls = { n: 0 }
  let stack: Stack
  beforeAll(async () => {
    stack = await factory(chain(calls))
  })
  afterAll(() => stack.close())

  const post = (body: string, headers: Record<string, string>) =>
    stack.send('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, ...headers },
      body,
    })

  it('answers an allowed preflight (no credentials) before the auth check refuses it', async () => {
    calls.n = 0
    const res = await stack.send('/api/chat', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(calls.n).toBe(0)
  })

  it('refuses a preflight from another origin with 403 and the security headers', async () => {
    const res = await stack.send('/api/chat', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    })
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body).error.code).toBe('CORS_REJECTED')
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
  })

  // Whether the 413 comes before the route (Content-Length, Node adapters) or from its
  // `ctx.json()` (Next) differs by adapter: only the 401 pins the route calls.
  it.each([
    ['401 of the auth check', '{"n":1}', {}, 401, 'UNAUTHORIZED', 0],
    [
      '413 of bodyLimit',
      `{"pad":"${'x'.repeat(100)}"}`,
      { authorization: 'Bearer t' },
      413,
      'PAYLOAD_TOO_LARGE',
      undefined,
    ],
  ] as const)(
    'the %s carries Access-Control-Allow-Origin',
    async (_l, body, headers, status, code, routeCalls) => {
      calls.n = 0
      const res = await post(body, { 'x-rate-key': `k-${Math.random()}`, ...headers })
      expect(res.status).toBe(status)
      expect(JSON.parse(res.body).error.code).toBe(code)
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
      expect(res.headers.get('access-control-allow-credentials')).toBe('true')
      expect(res.headers.get('vary')).toMatch(/\bOrigin\b/)
      if (routeCalls !== undefined) expect(calls.n).toBe(routeCalls)
    }
  )

  it('the 429 of rateLimit carries Access-Control-Allow-Origin', async () => {
    const headers = { authorization: 'Bearer t', 'x-rate-key': `k-${Math.random()}` }
    const first = await post('{"n":1}', headers)
    expect(first.status).toBe(200)
    expect(first.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    calls.n = 0
    const res = await post('{"n":1}', headers)
    expect(res.status).toBe(429)
    expect(JSON.parse(res.body).error.code).toBe('RATE_LIMITED')
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(calls.n).toBe(0)
  })
})
