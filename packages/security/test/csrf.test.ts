/**
 * csrf(): Go 1.25 CrossOriginProtection semantics (the table of Go's own csrf_test.go cases),
 * the wire method before any override, the stricter `origin` and `strictCookies` modes, and the
 * signed double-submit token (session binding, rotation, constant-time compare).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { invalidField } from '@aikit/testing/invalid-field'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrf } from '../src/csrf.js'
import { compileTokens, timingSafeEqual } from '../src/csrf-token.js'
import { APP_HOST, nextRouteStack, STACKS, type Stack } from './headers-stacks.js'

const SECRET_A = 'a'.repeat(32)
const SECRET_B = 'b'.repeat(40)

describe('csrf() construction', () => {
  it.each<[unknown, string]>([
    [{ trustedOrigins: ['https://a.test/path'] }, 'trustedOrigins[0]'],
    [{ trustedOrigins: ['null'] }, 'trustedOrigins[0]'],
    [{ origin: 'example.com' }, 'origin'],
    [{ origin: [] }, 'origin'],
    [{ strictCookies: 1 }, 'strictCookies'],
    [{ skip: true }, 'skip'],
    [{ token: { secrets: [], sessionId: () => 's' } }, 'token.secrets'],
    [{ token: { secrets: ['short'], sessionId: () => 's' } }, 'token.secrets[0]'],
    [{ token: { secrets: [SECRET_A] } }, 'token.sessionId'],
    [
      { token: { secrets: [SECRET_A], sessionId: () => 's', cookieName: 'csrf' } },
      'token.cookieName',
    ],
    // Type-checked before use: a number used to reach `.toLowerCase()` (a bare TypeError).
    [{ token: { secrets: [SECRET_A], sessionId: () => 's', headerName: 42 } }, 'token.headerName'],
    [
      { token: { secrets: [SECRET_A], sessionId: () => 's', headerName: 'x y' } },
      'token.headerName',
    ],
  ])('refuses %j (field %s)', (options, field) => {
    expect(invalidField(() => csrf(options as never))).toBe(field)
  })

  it('never echoes a secret in the error', () => {
    try {
      csrf({ token: { secrets: ['my-short-secret'], sessionId: () => 's' } })
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('my-short-secret')
    }
  })
})

// Go's src/net/http/csrf_test.go TestCrossOriginProtectionSecFetchSite / ...OriginHeader cases.
const GO_TABLE: [string, Record<string, string>, number][] = [
  ['GET', { 'sec-fetch-site': 'cross-site' }, 200],
  ['HEAD', { 'sec-fetch-site': 'cross-site' }, 200],
  ['OPTIONS', { 'sec-fetch-site': 'cross-site' }, 200],
  ['POST', { 'sec-fetch-site': 'same-origin' }, 200],
  ['POST', { 'sec-fetch-site': 'none' }, 200],
  ['POST', { 'sec-fetch-site': 'cross-site' }, 403],
  ['POST', { 'sec-fetch-site': 'same-site' }, 403],
  ['PUT', { 'sec-fetch-site': 'cross-site' }, 403],
  ['DELETE', { 'sec-fetch-site': 'cross-site' }, 403],
  ['PATCH', { 'sec-fetch-site': 'same-site', origin: 'https://sub.example.com' }, 403],
  ['POST', {}, 200],
  ['POST', { origin: `https://${APP_HOST}` }, 200],
  ['POST', { origin: `http://${APP_HOST}` }, 200],
  ['POST', { origin: 'https://evil.test' }, 403],
  ['POST', { origin: `https://${APP_HOST}:8443` }, 403],
  ['POST', { origin: 'null' }, 403],
  ['POST', { 'sec-fetch-site': 'cross-site', origin: 'https://trusted.example.com' }, 200],
  ['POST', { origin: 'https://trusted.example.com' }, 200],
  ['POST', { 'sec-fetch-site': 'cross-site', origin: 'https://trusted.example.com:444' }, 403],
]

describe.each(STACKS)('Go semantics on %s', (_name, factory) => {
  let stack: Stack
  beforeAll(async () => {
    stack = await factory([csrf({ trustedOrigins: ['https://trusted.example.com'] })])
  })
  afterAll(() => stack.close())

  it.each(GO_TABLE)('%s %j → %i', async (method, headers, status) => {
    stack.resetCalls()
    const res = await stack.send('/api/chat', { method, headers })
    expect(res.status).toBe(status)
    if (status === 403) {
      expect(JSON.parse(res.body)).toMatchObject({
        error: { code: 'CSRF_REJECTED', message: 'Cross-site request rejected' },
      })
      expect(res.body).not.toContain('evil')
      expect(stack.calls()).toBe(0)
    } else if (method !== 'HEAD') {
      expect(stack.calls()).toBe(1)
    }
  })
})

describe('stricter modes', () => {
  it('with `origin`, compares the scheme too (closes the HTTP→HTTPS fail-open)', async () => {
    const s = await nextRouteStack([csrf({ origin: `https://${APP_HOST}` })])
    expect(
      (await s.send('/api/chat', { method: 'POST', headers: { origin: `http://${APP_HOST}` } }))
        .status
    ).toBe(403)
    expect(
      (await s.send('/api/chat', { method: 'POST', headers: { origin: `https://${APP_HOST}` } }))
        .status
    ).toBe(200)
    // Behind a proxy that rewrites Host, the configured origin still matches.
    expect(
      (
        await s.send('/api/chat', {
          method: 'POST',
          headers: { host: 'internal:8080', origin: `https://${APP_HOST}` },
        })
      ).status
    ).toBe(200)
  })

  it('with `strictCookies`, a cookie request with no Fetch Metadata needs a same-origin Referer', async () => {
    const s = await nextRouteStack([csrf({ strictCookies: true })])
    const post = (headers: Record<string, string>) =>
      s.send('/api/chat', { method: 'POST', headers })
    const rejected = await post({ cookie: 'sid=1' })
    expect(rejected.status).toBe(403)
    expect(JSON.parse(rejected.body).error.details).toEqual({ reason: 'missing-headers' })
    expect((await post({ cookie: 'sid=1', referer: 'https://evil.test/x' })).status).toBe(403)
    expect((await post({ cookie: 'sid=1', referer: `https://${APP_HOST}/chat?x=1` })).status).toBe(
      200
    )
    expect((await post({})).status).toBe(200)
  })
})

describe('the wire method is checked, before any method override', () => {
  let base = ''
  let server: ReturnType<typeof createServer>
  beforeAll(async () => {
    const app = express()
    // What method-override does: the route sees GET, the wire said POST.
    app.use((req, _res, next) => {
      const r = req as typeof req & { originalMethod?: string }
      r.originalMethod = req.method
      if (req.headers['x-http-method-override'] === 'GET') req.method = 'GET'
      next()
    })
    app.use(toExpress(csrf()))
    app.all('/api/chat', (_req, res) => {
      res.json({ ok: true })
    })
    server = createServer(app)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    server.closeAllConnections()
    return new Promise((r) => server.close(r))
  })

  it('rejects a cross-site POST disguised as GET', async () => {
    const res = await fetch(`${base}/api/chat`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site', 'x-http-method-override': 'GET' },
    })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CSRF_REJECTED')
  })
})

describe('signed double-submit token', () => {
  it('compares in constant time by construction (length first, then every character)', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true)
    expect(timingSafeEqual('abc', 'abd')).toBe(false)
    expect(timingSafeEqual('abc', 'abcd')).toBe(false)
  })

  it('binds a token to its session and verifies with any configured secret (rotation)', async () => {
    const old = compileTokens({ secrets: [SECRET_A], sessionId: () => 's' })
    const rotated = compileTokens({ secrets: [SECRET_B, SECRET_A], sessionId: () => 's' })
    const dropped = compileTokens({ secrets: [SECRET_B], sessionId: () => 's' })
    const t = await old.issue('session-1')
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
    expect(await old.verify(t, 'session-1')).toBe(true)
    expect(await old.verify(t, 'session-2')).toBe(false)
    expect(await rotated.verify(t, 'session-1')).toBe(true)
    expect(await dropped.verify(t, 'session-1')).toBe(false)
    const flipped = t.slice(0, -2) + (t.at(-2) === 'A' ? 'B' : 'A') + t.at(-1)
    expect(await old.verify(flipped, 'session-1')).toBe(false)
    expect(old.cookie(t)).toBe(`__Host-aikit-csrf=${t}; Path=/; Secure; SameSite=Strict; HttpOnly`)
  })

  describe.each(STACKS)('on %s', (_name, factory) => {
    let stack: Stack
    beforeAll(async () => {
      stack = await factory([
        csrf({
          token: {
            secrets: [SECRET_B, SECRET_A],
            sessionId: (ctx) => /sid=(\w+)/.exec(ctx.header('cookie') ?? '')?.[1],
          },
        }),
      ])
    })
    afterAll(() => stack.close())

    async function tokenFor(sid: string): Promise<string> {
      const res = await stack.send('/page', { headers: { cookie: `sid=${sid}` } })
      const set = res.headers.get('set-cookie') ?? ''
      const m = /__Host-aikit-csrf=([^;]+); Path=\/; Secure; SameSite=Strict; HttpOnly/.exec(set)
      if (m === null) throw new Error(`no csrf cookie in ${set}`)
      return m[1]!
    }

    const post = (headers: Record<string, string>) =>
      stack.send('/api/chat', { method: 'POST', headers })

    it('issues a cookie on a safe request and accepts the matching header', async () => {
      const t = await tokenFor('alice')
      const res = await post({ cookie: `sid=alice; __Host-aikit-csrf=${t}`, 'x-csrf-token': t })
      expect(res.status).toBe(200)
      // A valid cookie is not re-issued.
      const again = await stack.send('/page', {
        headers: { cookie: `sid=alice; __Host-aikit-csrf=${t}` },
      })
      expect(again.headers.get('set-cookie')).toBeNull()
    })

    it.each([
      [
        'missing header',
        (t: string, _o: string) => ({ cookie: `sid=alice; __Host-aikit-csrf=${t}` }),
        'token-missing',
      ],
      [
        'missing cookie',
        (t: string, _o: string) => ({ cookie: 'sid=alice', 'x-csrf-token': t }),
        'token-missing',
      ],
      [
        'header ≠ cookie',
        (t: string, o: string) => ({
          cookie: `sid=alice; __Host-aikit-csrf=${t}`,
          'x-csrf-token': o,
        }),
        'token-invalid',
      ],
      [
        "another session's token",
        (_t: string, o: string) => ({
          cookie: `sid=alice; __Host-aikit-csrf=${o}`,
          'x-csrf-token': o,
        }),
        'token-invalid',
      ],
      [
        'forged token',
        (_t: string, _o: string) => ({
          cookie: `sid=alice; __Host-aikit-csrf=${'A'.repeat(22)}.${'B'.repeat(43)}`,
          'x-csrf-token': `${'A'.repeat(22)}.${'B'.repeat(43)}`,
        }),
        'token-invalid',
      ],
    ])('rejects %s with 403 CSRF_REJECTED', async (_label, build, reason) => {
      const t = await tokenFor('alice')
      const other = await tokenFor('bob')
      stack.resetCalls()
      const res = await post(build(t, other))
      expect(res.status).toBe(403)
      expect(JSON.parse(res.body)).toEqual({
        error: {
          code: 'CSRF_REJECTED',
          message: 'Cross-site request rejected',
          details: { reason },
        },
      })
      expect(stack.calls()).toBe(0)
    })

    it('rejects a token signed with a secret that was removed', async () => {
      const removed = compileTokens({ secrets: ['c'.repeat(32)], sessionId: () => '' })
      const t = await removed.issue('alice')
      const res = await post({ cookie: `sid=alice; __Host-aikit-csrf=${t}`, 'x-csrf-token': t })
      expect(res.status).toBe(403)
    })

    it('does not ask browsers that send Sec-Fetch-Site for a token', async () => {
      expect((await post({ 'sec-fetch-site': 'same-origin' })).status).toBe(200)
      expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    })
  })
})

describe('the token cookie does not replace cookies the route sets', () => {
  it('keeps both on Express (res.cookie) and Fastify (reply.header set-cookie)', async () => {
    const mw = csrf({ token: { secrets: [SECRET_A], sessionId: () => undefined } })
    const app = express()
    app.use(toExpress(mw))
    app.get('/login', (_req, res) => {
      res.cookie('sid', 'abc').json({ ok: true })
    })
    const server = createServer(app)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const fastify = Fastify({ logger: false })
    await fastify.register(aikitFastify, { use: [mw] })
    fastify.get('/login', async (_req, reply) => {
      reply.header('set-cookie', 'sid=abc; Path=/')
      return { ok: true }
    })
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    try {
      for (const port of [
        (server.address() as AddressInfo).port,
        (fastify.server.address() as AddressInfo).port,
      ]) {
        const res = await fetch(`http://127.0.0.1:${port}/login`)
        await res.text()
        const cookies = res.headers.getSetCookie()
        expect(cookies.some((c) => c.startsWith('sid=abc'))).toBe(true)
        expect(cookies.some((c) => c.startsWith('__Host-aikit-csrf='))).toBe(true)
      }
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
      await fastify.close()
    }
  })
})
