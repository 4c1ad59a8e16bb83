/**
 * The attack table of shared/research/security.md §7, rows about headers, CSP, CORS and CSRF
 * (1-7, 9-13, 15, 33, 34), through every adapter: node:http, Express 5, Fastify 5, and Next
 * (`withAikit` route handler and `aikitProxy`, called with real Web Requests). Each reject row
 * asserts the status, the exact JSON body, that the handler did not run, that the security
 * headers are on the rejection, and that the body does not echo attacker input. The other rows:
 * attack-table.body.test.ts (16-18, 21, 23, 24, 26-32), attack-table.body-reader.test.ts (19, 20),
 * and the real Next server in attack-table.next.test.ts.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cors } from '../src/cors.js'
import { csrf } from '../src/csrf.js'
import { securityHeaders } from '../src/headers.js'
import { APP_HOST, type Reply, STACKS, type Stack } from './headers-stacks.js'

const APP = `https://${APP_HOST}`
const SECRET = 's'.repeat(32)
const CSRF_BODY = (reason: string) => ({
  error: { code: 'CSRF_REJECTED', message: 'Cross-site request rejected', details: { reason } },
})

function expectRejected(stack: Stack, res: Reply, status: number, body: unknown): void {
  expect(res.status).toBe(status)
  expect(JSON.parse(res.body)).toEqual(body)
  expect(stack.calls()).toBe(0)
  expect(res.headers.get('content-security-policy')).toMatch(/'nonce-[A-Za-z0-9+/]{24}'/)
  expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.body).not.toMatch(/evil|sub\.example|null/)
}

describe.each(STACKS)('attack table on %s', (_name, factory) => {
  let app: Stack
  let strict: Stack
  let tokens: Stack
  beforeAll(async () => {
    const headers = securityHeaders({ contentSecurityPolicy: { nonce: true } })
    app = await factory([
      headers,
      cors({ origin: [APP, 'https://*.partner.test'], credentials: true, maxAge: 600 }),
      csrf({ trustedOrigins: ['https://sub.example.com'] }),
    ])
    strict = await factory([headers, csrf({ origin: APP, strictCookies: true })])
    tokens = await factory([
      headers,
      csrf({
        token: {
          secrets: [SECRET],
          sessionId: (ctx) => /sid=(\w+)/.exec(ctx.header('cookie') ?? '')?.[1],
        },
      }),
    ])
  })
  afterAll(() => Promise.all([app.close(), strict.close(), tokens.close()]))

  const post = (s: Stack, headers: Record<string, string>) => {
    s.resetCalls()
    return s.send('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    })
  }

  it('row 1: cross-site POST with cookie → 403, handler not called', async () => {
    const res = await post(app, {
      cookie: 'sid=1',
      'sec-fetch-site': 'cross-site',
      origin: 'https://evil.test',
    })
    expectRejected(app, res, 403, CSRF_BODY('cross-origin'))
  })

  it('row 2: same-site POST → 403 by default; allowed when the origin is trusted', async () => {
    const res = await post(app, {
      'sec-fetch-site': 'same-site',
      origin: 'https://other.example.com',
    })
    expectRejected(app, res, 403, CSRF_BODY('cross-origin'))
    const trusted = await post(app, {
      'sec-fetch-site': 'same-site',
      origin: 'https://sub.example.com',
    })
    expect(trusted.status).toBe(200)
    expect(app.calls()).toBe(1)
  })

  it('row 3: old browser, no Sec-Fetch-Site, foreign Origin → 403', async () => {
    expectRejected(
      app,
      await post(app, { origin: 'https://evil.test' }),
      403,
      CSRF_BODY('origin-mismatch')
    )
  })

  it('row 4: Origin: null → 403 (CSRF), and never an ACAO', async () => {
    const res = await post(app, { origin: 'null' })
    expectRejected(app, res, 403, CSRF_BODY('origin-mismatch'))
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('row 5: neither header → allowed; strict cookie mode → 403 without a same-origin Referer', async () => {
    const res = await post(app, { cookie: 'sid=1' })
    expect(res.status).toBe(200)
    expect(app.calls()).toBe(1)
    expectRejected(
      strict,
      await post(strict, { cookie: 'sid=1' }),
      403,
      CSRF_BODY('missing-headers')
    )
    expect((await post(strict, { cookie: 'sid=1', referer: `${APP}/chat` })).status).toBe(200)
  })

  it('row 6: Sec-Fetch-Site none or same-origin → allowed', async () => {
    for (const site of ['none', 'same-origin']) {
      const res = await post(app, { 'sec-fetch-site': site, cookie: 'sid=1' })
      expect(res.status).toBe(200)
      expect(app.calls()).toBe(1)
    }
  })

  it('row 7: scheme downgrade passes Go semantics; 403 with the configured public origin', async () => {
    expect((await post(app, { origin: `http://${APP_HOST}` })).status).toBe(200)
    expectRejected(
      strict,
      await post(strict, { origin: `http://${APP_HOST}` }),
      403,
      CSRF_BODY('origin-mismatch')
    )
  })

  it('row 9: cross-site GET/HEAD/OPTIONS are not blocked by CSRF (documented)', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      app.resetCalls()
      const res = await app.send('/api/chat', {
        method,
        headers: { 'sec-fetch-site': 'cross-site' },
      })
      expect(res.status).toBe(200)
    }
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
    expect(readme).toContain('`GET`, `HEAD` and `OPTIONS` are never blocked')
  })

  it('row 10: token mode rejects mismatched, foreign-session and unknown-secret tokens', async () => {
    const page = await tokens.send('/page', { headers: { cookie: 'sid=alice' } })
    const token = /__Host-aikit-csrf=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const bobPage = await tokens.send('/page', { headers: { cookie: 'sid=bob' } })
    const bob = /__Host-aikit-csrf=([^;]+)/.exec(bobPage.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const ok = await post(tokens, {
      cookie: `sid=alice; __Host-aikit-csrf=${token}`,
      'x-csrf-token': token,
    })
    expect(ok.status).toBe(200)
    const cases = [
      { cookie: `sid=alice; __Host-aikit-csrf=${token}`, 'x-csrf-token': bob },
      { cookie: `sid=alice; __Host-aikit-csrf=${bob}`, 'x-csrf-token': bob },
    ]
    for (const headers of cases) {
      expectRejected(tokens, await post(tokens, headers), 403, CSRF_BODY('token-invalid'))
    }
  })

  const preflight = (origin: string, acrm: string | undefined) => {
    app.resetCalls()
    const headers: Record<string, string> = { origin }
    if (acrm !== undefined) headers['access-control-request-method'] = acrm
    return app.send('/api/chat', { method: 'OPTIONS', headers })
  }

  it('row 11: allowed preflight → 204, Content-Length 0, exact ACAO, Vary, methods, max-age', async () => {
    const res = await preflight(APP, 'POST')
    expect(res.status).toBe(204)
    expect(res.body).toBe('')
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('vary')).toContain('Origin')
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    expect(res.headers.get('access-control-max-age')).toBe('600')
    expect(res.headers.get('content-length')).toBe('0')
    expect(app.calls()).toBe(0)
  })

  it('row 12: disallowed preflight → 403, no Access-Control-Allow-*, Vary: Origin', async () => {
    const res = await preflight('https://evil.test', 'POST')
    expectRejected(app, res, 403, {
      error: { code: 'CORS_REJECTED', message: 'Origin not allowed' },
    })
    const names: string[] = []
    res.headers.forEach((_v, k) => {
      names.push(k)
    })
    expect(names.filter((n) => n.startsWith('access-control-allow'))).toEqual([])
    expect(res.headers.get('vary')).toContain('Origin')
  })

  it('row 13: OPTIONS with Origin but no Access-Control-Request-Method goes to the app as a normal OPTIONS', async () => {
    const res = await preflight(APP, undefined)
    expect(res.status).toBe(200)
    expect(app.calls()).toBe(1)
  })

  it('row 15: origin "*" or reflect-all with credentials throws at startup', () => {
    expect(() => cors({ origin: '*', credentials: true })).toThrow(/credentials/)
    expect(() => cors({ origin: true, credentials: true })).toThrow(/credentials/)
  })

  it('row 33: two page requests get two different nonces, each only in its own response', async () => {
    const a = await app.send('/api/chat')
    const b = await app.send('/api/chat')
    const na = /'nonce-([^']+)'/.exec(a.headers.get('content-security-policy') ?? '')?.[1]
    const nb = /'nonce-([^']+)'/.exec(b.headers.get('content-security-policy') ?? '')?.[1]
    expect(na).toMatch(/^[A-Za-z0-9+/]{24}$/)
    expect(nb).toMatch(/^[A-Za-z0-9+/]{24}$/)
    expect(na).not.toBe(nb)
    expect(JSON.parse(a.body).nonce).toBe(na)
    expect(a.body).not.toContain(nb)
    expect(b.body).not.toContain(na)
  })

  it('row 34: no X-Powered-By (the full helmet comparison is headers.golden.test.ts)', async () => {
    const res = await app.send('/page')
    expect(res.headers.get('x-powered-by')).toBeNull()
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
  })
})
