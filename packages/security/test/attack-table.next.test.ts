/**
 * The attack table rows and the App Router CSP preset inside a real Next 16 server: the fixture in
 * fixtures/next-app (built with `next build --webpack`, cached between runs) has proxy.ts with
 * `securityHeaders({ contentSecurityPolicy: nextAppRouterCsp() })` + `cors()`, and a route handler
 * wrapped with `withAikit(handler, csrf())`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildFixture, type FixtureServer, loadNext, serve } from './fixtures/next-app/harness.js'
import { APP_HOST, type RequestInit, rawSend } from './headers-raw-send.js'

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

function send(path: string, init?: RequestInit) {
  if (server === undefined) throw new Error('server did not start')
  return rawSend(server.url, path, init)
}

async function handlerCalls(): Promise<number> {
  return JSON.parse((await send('/api/chat')).body).calls
}

const NONCE = /'nonce-([A-Za-z0-9+/]{24})'/

describe('the App Router CSP preset in a real Next app', () => {
  it("nonces every script Next renders, with 'strict-dynamic' and no 'unsafe-inline'", async () => {
    const res = await send('/page-nonce')
    expect(res.status).toBe(200)
    const csp = res.headers.get('content-security-policy') ?? ''
    const nonce = NONCE.exec(csp)?.[1] ?? ''
    expect(csp).toContain(`script-src 'self' 'strict-dynamic' 'nonce-${nonce}'`)
    expect(csp).not.toContain('unsafe-inline')
    expect(res.body).toContain(`<p id="nonce">${nonce}</p>`)
    const scripts = [...res.body.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])
    expect(scripts.length).toBeGreaterThan(1)
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`)
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
    expect(res.headers.get('permissions-policy')).toContain('camera=()')
    expect(res.headers.get('x-powered-by')).toBeNull()
  })

  it('row 33: gives two page requests two nonces, each only in its own page', async () => {
    const a = await send('/page-nonce')
    const b = await send('/page-nonce')
    const na = NONCE.exec(a.headers.get('content-security-policy') ?? '')?.[1] ?? 'a'
    const nb = NONCE.exec(b.headers.get('content-security-policy') ?? '')?.[1] ?? 'b'
    expect(na).not.toBe(nb)
    expect(a.body).toContain(na)
    expect(a.body).not.toContain(nb)
    expect(b.body).not.toContain(na)
  })
})

describe('attack table rows through proxy.ts + withAikit route handler', () => {
  const post = (headers: Record<string, string>) =>
    send('/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{}',
    })

  it.each([
    [
      'row 1: cross-site with cookie',
      { cookie: 'sid=1', 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' },
      'cross-origin',
    ],
    [
      'row 2: same-site, untrusted',
      { 'sec-fetch-site': 'same-site', origin: 'https://other.example.com' },
      'cross-origin',
    ],
    ['row 3: old browser, foreign Origin', { origin: 'https://evil.test' }, 'origin-mismatch'],
    ['row 4: Origin null', { origin: 'null' }, 'origin-mismatch'],
  ])('%s → 403 CSRF_REJECTED, headers on, handler not called', async (_label, headers, reason) => {
    const before = await handlerCalls()
    const res = await post(headers)
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'CSRF_REJECTED', message: 'Cross-site request rejected', details: { reason } },
    })
    expect(res.body).not.toMatch(/evil|other\.example|null/)
    expect(res.headers.get('content-security-policy')).toMatch(NONCE)
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(await handlerCalls()).toBe(before)
  })

  it('rows 2, 5, 6: trusted same-site, no headers, same-origin and none are allowed', async () => {
    for (const headers of [
      { 'sec-fetch-site': 'same-site', origin: 'https://sub.example.com' },
      {},
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { origin: `https://${APP_HOST}` },
    ]) {
      const before = await handlerCalls()
      const res = await post(headers)
      expect(res.status).toBe(200)
      expect(await handlerCalls()).toBe(before + 1)
    }
  })

  it('row 11: an allowed preflight gets 204 from proxy.ts with the CORS headers', async () => {
    const res = await send('/api/chat', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-max-age')).toBe('600')
    expect(res.headers.get('vary')).toContain('Origin')
  })

  it('row 12: a disallowed preflight gets 403 with no Access-Control-Allow-* header', async () => {
    const res = await send('/api/chat', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    })
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 'CORS_REJECTED', message: 'Origin not allowed' },
    })
    const names: string[] = []
    res.headers.forEach((_v, k) => {
      names.push(k)
    })
    expect(names.filter((n) => n.startsWith('access-control-'))).toEqual([])
    expect(res.headers.get('content-security-policy')).toMatch(NONCE)
  })
})
