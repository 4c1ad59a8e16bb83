/**
 * cors(): construction-time refusals, origin matching (exact, patterns, RegExps, functions,
 * never `null`), preflights (204 allowed / 403 disallowed with no Access-Control-Allow-*),
 * Vary: Origin, and the actual-request headers, on every adapter.
 */
import { invalidField } from '@aikit/testing/invalid-field'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cors } from '../src/cors.js'
import { compileOrigin } from '../src/cors-origin.js'
import { securityHeaders } from '../src/headers.js'
import { STACKS, type Stack } from './headers-stacks.js'

const test = (origin: Parameters<typeof compileOrigin>[0], value: string): boolean => {
  const m = compileOrigin(origin, false)
  if (m.kind !== 'list') throw new Error('not a list matcher')
  return m.test(value)
}

describe('cors() construction', () => {
  it.each([
    [{ origin: '*', credentials: true }, 'origin'],
    [{ origin: true, credentials: true }, 'origin'],
    [{ origin: 'null' }, 'origin'],
    [{ origin: ['https://a.test', 'null'] }, 'origin[1]'],
    [{ origin: /.*/ }, 'origin'],
    [{ origin: 'https://a.test/path' }, 'origin'],
    [{ origin: 'a.test' }, 'origin'],
    [{ origin: [] }, 'origin'],
    [{}, 'origin'],
    [{ origin: 'https://a.test', credentials: 'yes' }, 'credentials'],
    [{ origin: 'https://a.test', maxAge: -1 }, 'maxAge'],
    [{ origin: 'https://a.test', methods: ['GET POST'] }, 'methods'],
    [{ origin: 'https://a.test', allowedHeaders: ['x\r\ny'] }, 'allowedHeaders'],
  ])('refuses %j (field %s)', (options, field) => {
    expect(invalidField(() => cors(options as never))).toBe(field)
  })
})

describe('origin matching', () => {
  it('compares exact origins as browsers serialise them (scheme and port included)', () => {
    const o = ['https://app.example.com', 'http://localhost:3000']
    expect(test(o, 'https://app.example.com')).toBe(true)
    expect(test(['https://APP.example.com:443'], 'https://app.example.com')).toBe(true)
    expect(test(o, 'http://app.example.com')).toBe(false)
    expect(test(o, 'https://app.example.com:8443')).toBe(false)
    expect(test(o, 'https://app.example.com.evil.test')).toBe(false)
    expect(test(o, 'http://localhost:3001')).toBe(false)
    expect(test(o, 'null')).toBe(false)
  })

  it('anchors wildcard patterns and RegExps (no suffix/prefix tricks, no lastIndex flip-flop)', () => {
    const p = ['https://*.example.com']
    expect(test(p, 'https://a.example.com')).toBe(true)
    expect(test(p, 'https://a.b.example.com')).toBe(true)
    expect(test(p, 'https://example.com')).toBe(false)
    expect(test(p, 'http://a.example.com')).toBe(false)
    expect(test(p, 'https://a.example.com.evil.test')).toBe(false)
    expect(test(p, 'https://evilexample.com')).toBe(false)
    const re = [/https:\/\/[a-z]+\.example\.com/g]
    const results = [1, 2, 3, 4].map(() => test(re, 'https://api.example.com'))
    expect(results).toEqual([true, true, true, true])
    expect(test(re, 'https://api.example.com.evil.test')).toBe(false)
    expect(test(re, 'https://x.https://api.example.com')).toBe(false)
  })
})

const ALLOWED = 'https://app.example.com'

describe.each(STACKS)('cors() on %s', (_name, factory) => {
  let stack: Stack
  let reflect: Stack
  let fn: Stack
  beforeAll(async () => {
    stack = await factory([
      securityHeaders(),
      cors({
        origin: [ALLOWED, 'https://*.preview.example.com'],
        credentials: true,
        maxAge: 3600,
        exposedHeaders: ['RateLimit'],
      }),
    ])
    reflect = await factory([cors({ origin: true, allowedHeaders: ['content-type'] })])
    fn = await factory([
      cors({ origin: async (o) => o.endsWith('.partner.test'), methods: ['POST'] }),
    ])
  })
  afterAll(() => Promise.all([stack.close(), reflect.close(), fn.close()]))

  const preflight = (s: Stack, origin: string, extra: Record<string, string> = {}) =>
    s.send('/api/chat', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', ...extra },
    })

  it('answers an allowed preflight 204 with exact ACAO, Vary, methods, headers and max-age', async () => {
    stack.resetCalls()
    const res = await preflight(stack, ALLOWED, {
      'access-control-request-headers': 'content-type, x-csrf-token',
    })
    expect(res.status).toBe(204)
    expect(res.body).toBe('')
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-allow-methods')).toBe(
      'GET, HEAD, PUT, PATCH, POST, DELETE'
    )
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, x-csrf-token')
    expect(res.headers.get('access-control-max-age')).toBe('3600')
    expect(res.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers')
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(stack.calls()).toBe(0)
  })

  it.each([
    'https://evil.test',
    'null',
    'https://app.example.com.evil.test',
    'http://app.example.com',
  ])(
    'answers a preflight from %s with 403 and no Access-Control-Allow-* header',
    async (origin) => {
      const res = await preflight(stack, origin)
      expect(res.status).toBe(403)
      expect(JSON.parse(res.body)).toEqual({
        error: { code: 'CORS_REJECTED', message: 'Origin not allowed' },
      })
      const acHeaders: string[] = []
      res.headers.forEach((_v, k) => {
        if (k.startsWith('access-control-')) acHeaders.push(k)
      })
      expect(acHeaders).toEqual([])
      expect(res.headers.get('vary')).toContain('Origin')
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    }
  )

  it('passes an OPTIONS without Access-Control-Request-Method on to the app (not a preflight)', async () => {
    stack.resetCalls()
    const res = await stack.send('/api/chat', { method: 'OPTIONS', headers: { origin: ALLOWED } })
    expect(res.status).toBe(200)
    expect(stack.calls()).toBe(1)
  })

  it('sets ACAO, credentials, expose and Vary on an allowed actual request; nothing for others', async () => {
    const ok = await stack.send('/api/chat', {
      method: 'POST',
      headers: { origin: 'https://pr-1.preview.example.com' },
    })
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://pr-1.preview.example.com')
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true')
    expect(ok.headers.get('access-control-expose-headers')).toBe('RateLimit')
    expect(ok.headers.get('vary')).toContain('Origin')
    const other = await stack.send('/api/chat', {
      method: 'POST',
      headers: { origin: 'https://evil.test' },
    })
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    expect(other.headers.get('vary')).toContain('Origin')
    const none = await stack.send('/api/chat')
    expect(none.headers.get('access-control-allow-origin')).toBeNull()
    expect(none.headers.get('vary')).toContain('Origin')
  })

  it('never reflects Origin: null, even with reflect-all', async () => {
    const nul = await preflight(reflect, 'null')
    expect(nul.status).toBe(403)
    expect(nul.headers.get('access-control-allow-origin')).toBeNull()
    const actual = await reflect.send('/api/chat', { method: 'POST', headers: { origin: 'null' } })
    expect(actual.headers.get('access-control-allow-origin')).toBeNull()
    const other = await preflight(reflect, 'https://any.test', {
      'access-control-request-headers': 'x-evil',
    })
    expect(other.status).toBe(204)
    expect(other.headers.get('access-control-allow-origin')).toBe('https://any.test')
    expect(other.headers.get('access-control-allow-credentials')).toBeNull()
    expect(other.headers.get('access-control-allow-headers')).toBe('content-type')
  })

  it('asks a function, which must return exactly true', async () => {
    expect((await preflight(fn, 'https://a.partner.test')).status).toBe(204)
    expect(
      (await preflight(fn, 'https://a.partner.test')).headers.get('access-control-allow-methods')
    ).toBe('POST')
    expect((await preflight(fn, 'https://partner.test.evil')).status).toBe(403)
  })
})
