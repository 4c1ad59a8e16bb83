/**
 * contentSecurityPolicy(): helmet's validation at construction, per-request nonces exposed where
 * each framework looks for them, report-only mode, function values, the Next.js preset, and the
 * report endpoint.
 */
import { invalidField } from '@aikit/testing/invalid-field'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyLimit } from '../src/body-limit.js'
import { compileCsp, contentSecurityPolicy } from '../src/csp.js'
import { dangerouslyDisableDefaultSrc } from '../src/csp-directives.js'
import { nextAppRouterCsp } from '../src/csp-next.js'
import { type CspViolation, cspReportHandler } from '../src/csp-report.js'
import { securityHeaders } from '../src/headers.js'
import { errorProbe, nextProxyStack, STACKS, type Stack } from './headers-stacks.js'

/** The static header a policy compiles to (fails for a per-request policy). */
function staticHeader(options: Parameters<typeof contentSecurityPolicy>[0]): string {
  let value = ''
  compileCsp(options, 'csp').apply({
    setHeader: (_n: string, v: string) => {
      value = v
    },
  } as never)
  return value
}

describe('CSP directive validation (at construction)', () => {
  it.each([
    [{ directives: { scriptSrc: ['self'] } }, 'csp.directives.scriptSrc[0]'],
    [{ directives: { scriptSrc: ["'self' unsafe-inline"] } }, 'csp.directives.scriptSrc[0]'],
    [{ directives: { scriptSrc: ['nonce-abc'] } }, 'csp.directives.scriptSrc[0]'],
    [{ directives: { scriptSrc: ['sha256-abc'] } }, 'csp.directives.scriptSrc[0]'],
    [{ directives: { imgSrc: ["'self'; script-src *"] } }, 'csp.directives.imgSrc[0]'],
    [{ directives: { imgSrc: ['a.test, b.test'] } }, 'csp.directives.imgSrc[0]'],
    [{ directives: { imgSrc: ["'self'\r\nSet-Cookie: x=1"] } }, 'csp.directives.imgSrc[0]'],
    [
      { directives: { scriptSrc: ["'self'"], 'script-src': ["'self'"] } },
      'csp.directives.script-src',
    ],
    [{ directives: { 'Script-Src': ["'self'"] } }, 'csp.directives.Script-Src'],
    [{ directives: { 'script src': ["'self'"] } }, 'csp.directives.script src'],
    [{ directives: { defaultSrc: null } }, 'csp.directives.defaultSrc'],
    [{ directives: { scriptSrc: dangerouslyDisableDefaultSrc } }, 'csp.directives.scriptSrc'],
    [{ directives: { imgSrc: 42 } }, 'csp.directives.imgSrc'],
    [{ directives: { imgSrc: [42] } }, 'csp.directives.imgSrc[0]'],
    [{ useDefaults: false, directives: { scriptSrc: ["'self'"] } }, 'csp.directives.default-src'],
    [{ useDefaults: false, directives: {} }, 'csp.directives'],
    [{ nonce: ['worker-src'] }, 'csp.nonce'],
    [{ nonce: 'yes' }, 'csp.nonce'],
    [{ reportOnly: 'yes' }, 'csp.reportOnly'],
  ])('rejects %j naming %s', (options, field) => {
    expect(invalidField(() => compileCsp(options, 'csp'))).toBe(field)
  })

  it('accepts quoted keywords, strict-dynamic, camelCase names, null to drop, and disabling default-src', () => {
    expect(
      staticHeader({
        directives: {
          scriptSrc: ["'self'", "'strict-dynamic'", "'sha256-abc='"],
          upgradeInsecureRequests: null,
          reportUri: '/csp-report',
        },
      })
    ).toBe(
      "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self' 'strict-dynamic' 'sha256-abc=';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';report-uri /csp-report"
    )
    expect(
      staticHeader({
        useDefaults: false,
        directives: { defaultSrc: dangerouslyDisableDefaultSrc, imgSrc: "'self'" },
      })
    ).toBe("img-src 'self'")
  })

  it('switches the header name in report-only mode', () => {
    expect(compileCsp({ reportOnly: true }, 'csp').headerName).toBe(
      'Content-Security-Policy-Report-Only'
    )
    expect(compileCsp({}, 'csp').headerName).toBe('Content-Security-Policy')
  })
})

describe('the Next.js App Router preset', () => {
  it("is nonce + 'strict-dynamic' with no 'unsafe-inline' anywhere", () => {
    const options = nextAppRouterCsp()
    expect(options.nonce).toEqual(['script-src', 'style-src'])
    expect(() => contentSecurityPolicy(options)).not.toThrow()
    const all = JSON.stringify(options.directives)
    expect(all).not.toContain('unsafe-inline')
    expect(all).not.toContain('unsafe-eval')
    expect(options.directives?.['script-src']).toEqual(["'self'", "'strict-dynamic'"])
    expect(JSON.stringify(nextAppRouterCsp({ dev: true }).directives)).toContain("'unsafe-eval'")
  })

  it('takes camelCase overrides without creating duplicates', () => {
    const options = nextAppRouterCsp({
      directives: { imgSrc: ["'self'", 'https://cdn.example.com'], upgradeInsecureRequests: null },
    })
    expect(() => contentSecurityPolicy(options)).not.toThrow()
    expect(options.directives?.['img-src']).toEqual(["'self'", 'https://cdn.example.com'])
    expect(options.directives?.['upgrade-insecure-requests']).toBeUndefined()
  })

  it('hands Next the nonce on the x-nonce and CSP request headers in proxy.ts', async () => {
    const stack = await nextProxyStack([contentSecurityPolicy(nextAppRouterCsp())])
    const res = await stack.send('/page')
    const csp = res.headers.get('content-security-policy') ?? ''
    const nonce = res.headers.get('x-middleware-request-x-nonce') ?? ''
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{24}$/)
    expect(csp).toContain(`script-src 'self' 'strict-dynamic' 'nonce-${nonce}'`)
    expect(csp).toContain(`style-src 'self' 'nonce-${nonce}'`)
    expect(res.headers.get('x-middleware-request-content-security-policy')).toBe(csp)
  })
})

const NONCE_IN_HEADER = /'nonce-([A-Za-z0-9+/=]+)'/

describe.each(STACKS)('CSP nonces on %s', (name, factory) => {
  let stack: Stack
  beforeAll(async () => {
    stack = await factory([
      securityHeaders({
        contentSecurityPolicy: {
          nonce: true,
          directives: { scriptSrc: ["'self'", "'strict-dynamic'"] },
        },
      }),
      errorProbe,
    ])
  })
  afterAll(() => stack.close())

  it('gives each request its own >= 128-bit nonce, in its header and where the framework exposes it', async () => {
    const nonces: string[] = []
    for (let i = 0; i < 2; i++) {
      const res = await stack.send('/api/chat')
      expect(res.status).toBe(200)
      const header = res.headers.get('content-security-policy') ?? ''
      const nonce = NONCE_IN_HEADER.exec(header)?.[1] ?? ''
      expect(atob(nonce).length).toBeGreaterThanOrEqual(16)
      expect(header).toContain(`script-src 'self' 'strict-dynamic' 'nonce-${nonce}'`)
      // Express res.locals.cspNonce, Fastify reply.cspNonce, Next x-nonce, node ctx.state.
      expect(JSON.parse(res.body).nonce).toBe(nonce)
      nonces.push(nonce)
    }
    expect(nonces[0]).not.toBe(nonces[1])
  })

  it.each([
    ['/e/400', 400],
    ['/e/403', 403],
    ['/e/413', 413],
  ])('puts the nonce CSP on the kit error %s', async (path, status) => {
    const res = await stack.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    expect(res.status).toBe(status)
    expect(res.headers.get('content-security-policy')).toMatch(NONCE_IN_HEADER)
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    if (name !== 'next-proxy') expect(res.body).not.toContain('nonce')
  })
})

describe('function directive values', () => {
  it.each(STACKS)(
    'are evaluated per request on %s; an invalid value is a 500 without a header',
    async (_n, factory) => {
      const stack = await factory([
        contentSecurityPolicy({
          directives: {
            connectSrc: [
              "'self'",
              (ctx) =>
                ctx.header('x-tenant') === 'bad'
                  ? 'a;b'
                  : `https://${ctx.header('x-tenant')}.api.test`,
            ],
          },
        }),
      ])
      try {
        const ok = await stack.send('/api/chat', { headers: { 'x-tenant': 't1' } })
        expect(ok.headers.get('content-security-policy')).toMatch(
          /;connect-src 'self' https:\/\/t1\.api\.test$/
        )
        const bad = await stack.send('/api/chat', { headers: { 'x-tenant': 'bad' } })
        expect(bad.status).toBe(500)
        expect(JSON.parse(bad.body)).toEqual({
          error: {
            code: 'CSP_INVALID_VALUE',
            message: 'A Content-Security-Policy function value for connect-src is invalid',
          },
        })
        expect(bad.headers.get('content-security-policy')).toBeNull()
        expect(stack.calls()).toBe(1)
      } finally {
        await stack.close()
      }
    }
  )
})

const LEGACY = JSON.stringify({
  'csp-report': {
    'document-uri': 'https://app.example.com/page',
    'blocked-uri': 'https://evil.test/x.js',
    'effective-directive': 'script-src-elem',
    'original-policy': "default-src 'self'",
    disposition: 'enforce',
    'status-code': 200,
    'line-number': 'not-a-number',
  },
})
const REPORTING_API = JSON.stringify([
  {
    type: 'csp-violation',
    body: {
      documentURL: 'https://app.example.com/',
      blockedURL: 'inline',
      effectiveDirective: 'script-src-elem',
      lineNumber: 3,
    },
  },
  { type: 'deprecation', body: { id: 'x' } },
])

describe.each(STACKS)('cspReportHandler on %s', (_name, factory) => {
  let stack: Stack
  const received: CspViolation[][] = []
  beforeAll(async () => {
    stack = await factory([
      securityHeaders(),
      cspReportHandler({
        path: '/csp-report',
        maxBytes: 2048,
        onReport: (v) => void received.push(v),
      }),
    ])
  })
  afterAll(() => stack.close())

  it('accepts application/csp-report and application/reports+json with 204', async () => {
    received.length = 0
    const a = await stack.send('/csp-report', {
      method: 'POST',
      headers: { 'content-type': 'application/csp-report' },
      body: LEGACY,
    })
    const b = await stack.send('/csp-report', {
      method: 'POST',
      headers: { 'content-type': 'application/reports+json' },
      body: REPORTING_API,
    })
    expect([a.status, a.body, b.status, b.body]).toEqual([204, '', 204, ''])
    expect(received).toEqual([
      [
        {
          documentURL: 'https://app.example.com/page',
          blockedURL: 'https://evil.test/x.js',
          effectiveDirective: 'script-src-elem',
          originalPolicy: "default-src 'self'",
          disposition: 'enforce',
          statusCode: 200,
        },
      ],
      [
        {
          documentURL: 'https://app.example.com/',
          blockedURL: 'inline',
          effectiveDirective: 'script-src-elem',
          lineNumber: 3,
        },
      ],
    ])
    expect(stack.calls()).toBe(0)
  })

  it('answers 413 past maxBytes, 415 for other types, 405 for GET, 400 for junk', async () => {
    const big = JSON.stringify({ 'csp-report': { 'document-uri': 'x'.repeat(4096) } })
    const cases = [
      [
        { method: 'POST', headers: { 'content-type': 'application/csp-report' }, body: big },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        { method: 'POST', headers: { 'content-type': 'text/plain' }, body: LEGACY },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [{ method: 'GET' }, 405, 'METHOD_NOT_ALLOWED'],
      [
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' },
        400,
        'INVALID_REQUEST',
      ],
    ] as const
    for (const [init, status, code] of cases) {
      const res = await stack.send('/csp-report', init)
      expect(res.status).toBe(status)
      if (status === 405) expect(res.headers.get('allow')).toBe('POST')
      expect(JSON.parse(res.body).error.code).toBe(code)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })
})

// bodyLimit() caps `ctx.json()` on the context; cspReportHandler reads `application/csp-report`
// through a view of it whose `content-type` says JSON. The cap must call the original on that view
// (`this`), not on the captured context, or every legacy report behind an app-wide bodyLimit()
// is refused with 415.
describe.each(STACKS)('cspReportHandler behind an app-wide bodyLimit() on %s', (_name, factory) => {
  let stack: Stack
  let shallow: Stack
  const received: CspViolation[][] = []
  beforeAll(async () => {
    const handler = cspReportHandler({
      path: '/csp-report',
      onReport: (v) => void received.push(v),
    })
    stack = await factory([securityHeaders(), bodyLimit({ maxBytes: '64kb' }), handler])
    shallow = await factory([securityHeaders(), bodyLimit({ maxDepth: 1 }), handler])
  })
  afterAll(() => Promise.all([stack.close(), shallow.close()]))

  const send = (s: Stack) =>
    s.send('/csp-report', {
      method: 'POST',
      headers: { 'content-type': 'application/csp-report' },
      body: LEGACY,
    })

  it('accepts a legacy application/csp-report body with 204', async () => {
    received.length = 0
    const res = await send(stack)
    expect([res.status, res.body]).toEqual([204, ''])
    expect(received).toHaveLength(1)
    expect(received[0]![0]!.blockedURL).toBe('https://evil.test/x.js')
  })

  it("still applies bodyLimit()'s JSON limits to the report (maxDepth 1: 400)", async () => {
    received.length = 0
    const res = await send(shallow)
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body).error.code).toBe('INVALID_REQUEST')
    expect(received).toHaveLength(0)
  })
})
