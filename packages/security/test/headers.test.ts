/**
 * securityHeaders(): overrides and removal, option validation, the Permissions-Policy preset, and
 * the headers on every response of every adapter, the kit's own error responses included.
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contentSecurityPolicy } from '../src/csp.js'
import { resolveSecurityHeaders, securityHeaders } from '../src/headers.js'
import { PERMISSIONS_POLICY_PRESET } from '../src/headers-permissions.js'
import { errorProbe, STACKS, type Stack } from './headers-stacks.js'

const headerMap = (o: Parameters<typeof resolveSecurityHeaders>[0]) =>
  Object.fromEntries(resolveSecurityHeaders(o).headers)

describe('securityHeaders options', () => {
  it('overrides each header the way helmet does', () => {
    const h = headerMap({
      crossOriginEmbedderPolicy: true,
      crossOriginOpenerPolicy: { policy: 'same-origin-allow-popups' },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
      referrerPolicy: { policy: ['origin', 'strict-origin-when-cross-origin'] },
      strictTransportSecurity: { maxAge: 86_400.9, includeSubDomains: false, preload: true },
      xDnsPrefetchControl: { allow: true },
      xFrameOptions: { action: 'deny' },
      xPermittedCrossDomainPolicies: { permittedPolicies: 'by-content-type' },
    })
    expect(h['Cross-Origin-Embedder-Policy']).toBe('require-corp')
    expect(h['Cross-Origin-Opener-Policy']).toBe('same-origin-allow-popups')
    expect(h['Cross-Origin-Resource-Policy']).toBe('cross-origin')
    expect(h['Referrer-Policy']).toBe('origin,strict-origin-when-cross-origin')
    expect(h['Strict-Transport-Security']).toBe('max-age=86400; preload')
    expect(h['X-DNS-Prefetch-Control']).toBe('on')
    expect(h['X-Frame-Options']).toBe('DENY')
    expect(h['X-Permitted-Cross-Domain-Policies']).toBe('by-content-type')
  })

  it('removes any header given false', () => {
    const r = resolveSecurityHeaders({
      contentSecurityPolicy: false,
      crossOriginOpenerPolicy: false,
      crossOriginResourcePolicy: false,
      originAgentCluster: false,
      referrerPolicy: false,
      strictTransportSecurity: false,
      xContentTypeOptions: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xFrameOptions: false,
      xPermittedCrossDomainPolicies: false,
      xPoweredBy: false,
      xXssProtection: false,
    })
    expect(r.headers).toEqual([])
    expect(r.csp).toBeUndefined()
    expect(r.removePoweredBy).toBe(false)
  })

  it.each([
    [{ strictTransportSecurity: { maxage: 5 } }, 'strictTransportSecurity.maxage'],
    [
      { strictTransportSecurity: { includeSubdomains: true } },
      'strictTransportSecurity.includeSubdomains',
    ],
    [{ strictTransportSecurity: { maxAge: -1 } }, 'strictTransportSecurity.maxAge'],
    [
      { strictTransportSecurity: { maxAge: Number.POSITIVE_INFINITY } },
      'strictTransportSecurity.maxAge',
    ],
    [{ xFrameOptions: { action: 'ALLOW-FROM https://a.test' } }, 'xFrameOptions.action'],
    [{ referrerPolicy: { policy: 'nope' } }, 'referrerPolicy.policy'],
    [{ referrerPolicy: { policy: ['origin', 'origin'] } }, 'referrerPolicy.policy'],
    [{ referrerPolicy: { policy: [] } }, 'referrerPolicy.policy'],
    [{ crossOriginOpenerPolicy: { policy: 'x' } }, 'crossOriginOpenerPolicy.policy'],
    [{ crossOriginEmbedderPolicy: { policy: 'x' } }, 'crossOriginEmbedderPolicy.policy'],
    [{ crossOriginResourcePolicy: { policy: 'x' } }, 'crossOriginResourcePolicy.policy'],
    [
      { xPermittedCrossDomainPolicies: { permittedPolicies: 'x' } },
      'xPermittedCrossDomainPolicies.permittedPolicies',
    ],
    [{ hsts: {} }, 'hsts'],
    [{ frameguard: false }, 'frameguard'],
    [{ xFrameOptions: 'deny' }, 'xFrameOptions'],
    [
      { permissionsPolicy: { features: { 'Bad Name': [] } } },
      'permissionsPolicy.features.Bad Name',
    ],
    [
      { permissionsPolicy: { features: { camera: ['https://a.test/path'] } } },
      'permissionsPolicy.features.camera',
    ],
    [
      { contentSecurityPolicy: { directives: { scriptSrc: ['self'] } } },
      'contentSecurityPolicy.directives.scriptSrc[0]',
    ],
  ])('rejects %j at construction, naming %s', (options, field) => {
    let error: unknown
    try {
      securityHeaders(options as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe(field)
  })

  it('builds the opt-in Permissions-Policy preset, with overrides and origins quoted', () => {
    expect(headerMap({})['Permissions-Policy']).toBeUndefined()
    const preset = headerMap({ permissionsPolicy: true })['Permissions-Policy']
    expect(preset).toContain('camera=(), ')
    expect(preset).toContain('fullscreen=(self)')
    expect(preset?.split(', ')).toHaveLength(Object.keys(PERMISSIONS_POLICY_PRESET).length)
    const custom = headerMap({
      permissionsPolicy: {
        useDefaults: false,
        features: { microphone: ['self', 'https://voice.example.com'], autoplay: '*', camera: [] },
      },
    })['Permissions-Policy']
    expect(custom).toBe('microphone=(self "https://voice.example.com"), autoplay=*, camera=()')
  })
})

describe('securityHeaders middleware contract', () => {
  it('resolves with next() and turns a throw before next() into a rejection', async () => {
    const mw = securityHeaders()
    const set: string[] = []
    const ctx = { setHeader: (name: string) => set.push(name) } as unknown as Context
    let called = 0
    await expect(mw(ctx, async () => void called++)).resolves.toBeUndefined()
    expect(called).toBe(1)
    expect(set).toContain('Content-Security-Policy')
    expect(set).toHaveLength(12)
    const sent = {
      setHeader: () => {
        throw new Error('headers already sent')
      },
    } as unknown as Context
    let result: Promise<void> | undefined
    expect(() => {
      result = mw(sent, async () => void called++)
    }).not.toThrow()
    await expect(result).rejects.toThrow('headers already sent')
    expect(called).toBe(1)
  })
})

const ERROR_PATHS = [
  ['/e/400', 400, 'INVALID_REQUEST'],
  ['/e/403', 403, 'CSRF_REJECTED'],
  ['/e/413', 413, 'PAYLOAD_TOO_LARGE'],
  ['/e/429', 429, 'RATE_LIMITED'],
  ['/boom', 500, 'INTERNAL'],
] as const

describe.each(STACKS)('securityHeaders on %s', (name, factory) => {
  let stack: Stack
  beforeAll(async () => {
    stack = await factory([
      securityHeaders({ permissionsPolicy: true, xFrameOptions: { action: 'deny' } }),
      errorProbe,
    ])
  })
  afterAll(() => stack.close())

  it.each(ERROR_PATHS)('puts every header on the kit error %s → %i', async (path, status, code) => {
    if (name === 'next-proxy' && path === '/boom') return // a proxy has no route to throw
    const res = await stack.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(res.status).toBe(status)
    expect(JSON.parse(res.body)).toMatchObject({ error: { code } })
    expect(res.body).not.toContain('secret-detail')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('permissions-policy')).toContain('camera=()')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('puts them on the route response too', async () => {
    const res = await stack.send('/page')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin')
  })
})

/** A middleware after securityHeaders() that changes two of its headers through the protocol. */
const frameAndCsp: Middleware = (ctx, next) => {
  ctx.setHeader('X-Frame-Options', 'SAMEORIGIN')
  ctx.setHeader('Content-Security-Policy', "default-src 'none'")
  return next()
}

describe.each(STACKS)('overriding securityHeaders per route on %s', (_name, factory) => {
  it.each([
    ['a static policy', {}],
    ['a per-request nonce', { contentSecurityPolicy: { nonce: true } }],
  ] as const)(
    "lets a later middleware's ctx.setHeader replace one of them, with %s",
    async (_label, options) => {
      // Under the Node adapters the headers go straight onto the native response (helmet's way):
      // the adapter's Context must still let a later pending header of the same name win there,
      // on the route's answer and on the kit's own error alike, as it does on the Web path (Next).
      const stack = await factory([securityHeaders(options), frameAndCsp, errorProbe])
      try {
        for (const path of ['/api/chat', '/e/429']) {
          const res = await stack.send(path)
          expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN')
          expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none'")
          expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
          expect(res.headers.get('strict-transport-security'), path).toBe(
            'max-age=31536000; includeSubDomains'
          )
        }
      } finally {
        await stack.close()
      }
    }
  )

  it('lets a later kit middleware of this package win (last writer wins)', async () => {
    const stack = await factory([
      securityHeaders(),
      contentSecurityPolicy({ useDefaults: false, directives: { defaultSrc: "'none'" } }),
    ])
    try {
      const res = await stack.send('/api/chat')
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'")
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    } finally {
      await stack.close()
    }
  })
})
