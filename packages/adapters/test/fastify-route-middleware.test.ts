/**
 * `aikitRoute(...middleware)`: kit middleware for one Fastify route, given as the route's
 * `onRequest` hook, over real Fastify servers on 127.0.0.1. The route's middleware run after the
 * chains of the `aikitFastify` registrations covering the route, on the request's one Context,
 * with the semantics of a nested registration: one response, onHeaders / next() / finished once,
 * inner first as in one chain.
 */
import { aikitFastify, aikitRoute } from '@aikit/adapters/fastify'
import {
  type Context,
  currentContext,
  type FinishInfo,
  type Middleware,
  onFinished,
  requireAsyncContext,
} from '@aikit/core'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'
import { requestLogger } from '../../observability/src/index.js'
import { rateLimit } from '../../ratelimit/src/index.js'
import { auth, captureLogger, denyFrames, fastifyApps, recordErrors } from './fastify-apps.js'

// The handlers read currentContext() from the first request on (as the kit's readers declare).
requireAsyncContext()

const { newApp, start } = fastifyApps()

const pass: Middleware = async (_ctx, next) => next()

function get(url: string, user: string): Promise<Response> {
  return fetch(url, { headers: { 'x-user': user } })
}

describe('aikitRoute() validation', () => {
  it('names a middleware that is not a function, a trailing options object included', () => {
    expect(invalidField(() => aikitRoute('x' as never))).toBe('middleware[0]')
    expect(invalidField(() => aikitRoute(pass, { trustProxy: 1 } as never))).toBe('middleware[1]')
  })

  it('refuses it as another hook than onRequest when the route is declared, naming that hook', async () => {
    const app = newApp()
    await app.register(aikitFastify, { use: [pass] })
    expect(() => app.get('/x', { preHandler: aikitRoute(pass) }, async () => 'x')).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'preHandler' })
    )
    expect(() =>
      app.get('/y', { preValidation: [async () => {}, aikitRoute(pass)] }, async () => 'y')
    ).toThrow(expect.objectContaining({ field: 'preValidation' }))
  })
})

describe('aikitRoute() under aikitFastify', () => {
  it("a route's 429 is the request's one response: logged once by the enclosing logger, keyed by the enclosing auth", async () => {
    const log = captureLogger()
    const limited = rateLimit({ limits: [{ limit: 1, window: '1m' }] })
    let handled = 0
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [requestLogger(log), auth] })
      app.get('/chat', { onRequest: aikitRoute(limited) }, async () => {
        handled++
        return { ok: true }
      })
      app.get('/open', async () => ({ ok: true }))
    })
    const first = await get(`${url}/chat`, 'alice')
    const again = await get(`${url}/chat`, 'alice')
    const bob = await get(`${url}/chat`, 'bob')
    const open = await get(`${url}/open`, 'alice')
    expect([first.status, again.status, bob.status, open.status]).toEqual([200, 429, 200, 200])
    expect((await again.json()).error.code).toBe('RATE_LIMITED')
    expect(again.headers.get('retry-after')).not.toBeNull()
    expect(first.headers.get('ratelimit')).not.toBeNull()
    expect(open.headers.get('ratelimit')).toBeNull()
    expect(handled).toBe(2)
    await expect.poll(() => log.lines.length, { timeout: 10_000 }).toBe(4)
    expect(log.lines.map((l) => [l.subject, l.status])).toEqual([
      ['alice', 200],
      ['alice', 429],
      ['bob', 200],
      ['alice', 200],
    ])
    // Three requests reached the route's limiter; /open did not.
    expect(limited.stats()).toEqual({ checked: 3, unkeyed: 0 })
  })

  it('shares state with the enclosing chain and the handler, on one Context (currentContext too)', async () => {
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [auth] })
      const tag: Middleware = async (ctx, next) => {
        ctx.setHeader('x-route-saw', ctx.state.subject ?? 'none')
        ctx.state.requestId = `req-for-${ctx.state.subject}`
        await next()
      }
      app.post('/chat', { onRequest: aikitRoute(tag) }, async (request) => {
        const ctx = request.aikit as Context
        return {
          requestId: ctx.state.requestId,
          same: currentContext() === ctx,
          body: request.body,
        }
      })
    })
    const res = await fetch(`${url}/chat`, {
      method: 'POST',
      headers: { 'x-user': 'carol', 'content-type': 'application/json' },
      body: '{"q":"hi"}',
    })
    expect(res.headers.get('x-route-saw')).toBe('carol')
    expect(await res.json()).toEqual({ requestId: 'req-for-carol', same: true, body: { q: 'hi' } })
  })

  it("a body the route's middleware read is still the handler's request.body", async () => {
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [pass] })
      const peek: Middleware = async (ctx, next) => {
        const body = await ctx.json<{ q: string }>()
        ctx.setHeader('x-q', body.q)
        await next()
      }
      app.post('/chat', { onRequest: aikitRoute(peek) }, async (request) => request.body)
    })
    const res = await fetch(`${url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"q":"read twice"}',
    })
    expect(res.headers.get('x-q')).toBe('read twice')
    expect(await res.json()).toEqual({ q: 'read twice' })
  })

  it('an error thrown in the route middleware is a JSON 500, seen by the enclosing chain and onError once', async () => {
    const { outer, reported, options } = recordErrors()
    const url = await start(async (app) => {
      await app.register(aikitFastify, options)
      const boom: Middleware = async () => {
        throw new Error('secret detail')
      }
      app.get('/boom', { onRequest: aikitRoute(boom) }, async () => 'never')
    })
    const res = await fetch(`${url}/boom`)
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      error: { code: 'INTERNAL', message: 'Internal server error' },
    })
    expect(text).not.toContain('secret detail')
    expect(outer).toEqual([[500, 'secret detail']])
    expect(reported).toEqual(['secret detail'])
  })

  it('onHeaders, next() and finished run once per chain, route chain first as in one chain', async () => {
    const seen: unknown[] = []
    const chain = (name: string): Middleware =>
      async function track(ctx, next) {
        ctx.onHeaders(() => seen.push([`${name} head`, ctx.status]))
        onFinished(ctx, (info: FinishInfo) => seen.push([`${name} finish`, info.aborted]))
        await next()
        seen.push([`${name} next`, ctx.headersSent, ctx.status])
      }
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [chain('outer')] })
      await app.register(async (scope) => {
        await scope.register(aikitFastify, { use: [chain('scope')] })
        scope.get(
          '/r',
          // An app hook between two route chains: the first waits for the second all the same.
          {
            onRequest: [
              aikitRoute(chain('route1')),
              async (request) => {
                request.headers['x-between'] = '1'
              },
              aikitRoute(chain('route2')),
            ],
          },
          async (_request, reply) => reply.code(201).send('made')
        )
      })
    })
    const res = await fetch(`${url}/r`)
    expect([res.status, await res.text()]).toEqual([201, 'made'])
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(12)
    const of = (kind: string) => seen.filter((e) => (e as string[])[0]!.endsWith(kind))
    expect(of('head')).toEqual([
      ['route2 head', 201],
      ['route1 head', 201],
      ['scope head', 201],
      ['outer head', 201],
    ])
    expect(of('next')).toEqual([
      ['route2 next', true, 201],
      ['route1 next', true, 201],
      ['scope next', true, 201],
      ['outer next', true, 201],
    ])
    expect(of('finish').length).toBe(4)
  })

  it('builds the Context itself when the enclosing registration is header-only and built none', async () => {
    const headersOnly = denyFrames()
    let routeCtx: Context | null = null
    const url = await start(async (app) => {
      await app.register(aikitFastify, { use: [headersOnly], asyncContext: false })
      const route: Middleware = async (ctx, next) => {
        ctx.state.subject = 'from-route'
        ctx.setHeader('x-route', '1')
        await next()
      }
      app.get('/r', { onRequest: aikitRoute(route) }, async (request) => {
        routeCtx = request.aikit
        return request.aikit?.state.subject ?? 'no context'
      })
      app.get('/plain', async (request) => String(request.aikit))
    })
    const res = await fetch(`${url}/r`)
    expect([res.status, await res.text()]).toEqual([200, 'from-route'])
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('x-route')).toBe('1')
    expect(routeCtx).not.toBeNull()
    const plain = await fetch(`${url}/plain`)
    expect(await plain.text()).toBe('null')
    expect(plain.headers.get('x-frame-options')).toBe('DENY')
  })
})

describe('aikitRoute() without an aikitFastify covering the route', () => {
  const uncovered = async (res: Response): Promise<void> => {
    expect(res.status).toBe(500)
    expect((await res.json()).code).toBe('AIKIT_ROUTE_UNCOVERED')
  }

  it('no aikitFastify in the app: every request of the route fails with AIKIT_ROUTE_UNCOVERED', async () => {
    let ran = false
    const url = await start((app) => {
      const mw: Middleware = async (_ctx, next) => {
        ran = true
        await next()
      }
      app.get('/r', { onRequest: aikitRoute(mw) }, async () => 'never')
    })
    await uncovered(await fetch(`${url}/r`))
    expect(ran).toBe(false)
  })

  it('a route declared before the plugin: same error (Fastify runs onRoute for later routes only)', async () => {
    const url = await start(async (app) => {
      app.get('/early', { onRequest: aikitRoute(pass) }, async () => 'never')
      await app.register(aikitFastify, { use: [pass] })
      app.get('/late', { onRequest: aikitRoute(pass) }, async () => 'late')
    })
    await uncovered(await fetch(`${url}/early`))
    const late = await fetch(`${url}/late`)
    expect([late.status, await late.text()]).toEqual([200, 'late'])
    // Fastify's HEAD route for the GET one carries the hook too.
    expect((await fetch(`${url}/late`, { method: 'HEAD' })).status).toBe(200)
  })

  it("a route outside the plugin's encapsulated scope: same error", async () => {
    const url = await start(async (app) => {
      await app.register(async (scope) => {
        await scope.register(aikitFastify, { use: [pass] })
        scope.get('/inside', { onRequest: aikitRoute(pass) }, async () => 'inside')
      })
      app.get('/outside', { onRequest: aikitRoute(pass) }, async () => 'never')
    })
    await uncovered(await fetch(`${url}/outside`))
    const inside = await fetch(`${url}/inside`)
    expect([inside.status, await inside.text()]).toEqual([200, 'inside'])
  })
})
