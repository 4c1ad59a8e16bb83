/**
 * One request, one Context, however many `toExpress` chains it passes through: the layout the
 * observability and security READMEs recommend, an app-level chain (logger, auth) plus a
 * route-level one (validate, rateLimit), over real Express 4 and 5 servers on 127.0.0.1. What
 * the app-level chain set (subject, requestId, the logger's fields) is what the route-level chain
 * and the handler's `currentContext()` see, and both chains' lifecycle hooks run once, on that one
 * Context, with the final status.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import {
  AikitError,
  type Context,
  currentContext,
  type FinishInfo,
  type Middleware,
  onFinished,
  requireAsyncContext,
} from '@aikit/core'
import { markStaticHeaders } from '@aikit/core/adapter'
import express from 'express'
import express4 from 'express4'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { requestLogger } from '../../observability/src/index.js'
import { rateLimit } from '../../ratelimit/src/index.js'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

// The handlers read currentContext() from the first request on (as the kit's readers declare).
requireAsyncContext()

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})
afterEach(() => {
  vi.restoreAllMocks()
})

async function start(app: express.Express): Promise<string> {
  const server = await listen(createServer(app))
  servers.push(server)
  return server.url
}

interface Line {
  level: string
  message: string
  requestId?: string
  status?: number | null
  subject?: string
}

/** A logger keeping the lines requestLogger writes. */
function captureLogger(): { lines: Line[]; log: (l: string, m: string, meta: object) => void } {
  const lines: Line[] = []
  return {
    lines,
    log(level, message, meta) {
      lines.push({ level, message, ...meta })
    },
  }
}

/** The app-level authentication: the subject from `x-user`. */
const auth: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user !== undefined) ctx.state.subject = user
  await next()
}

/** State these tests add (kept off the global `AikitState`). */
function extra(ctx: Context): { reason?: string; ips?: string[] } {
  return ctx.state as { reason?: string; ips?: string[] }
}

function post(url: string, user: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user': user },
    body: '{"q":1}',
  })
}

for (const [name, factory] of [
  ['express 5', express],
  ['express 4', express4],
] as const) {
  describe(`two toExpress chains on ${name} share the request's Context`, () => {
    it("the app-level chain's state is the route-level chain's and the handler's currentContext()", async () => {
      const log = captureLogger()
      const app = factory()
      app.use(toExpress(requestLogger(log), auth))
      let inner: { subject: string | undefined; requestId: string | undefined } | undefined
      const seenByInner: Middleware = async (ctx, next) => {
        inner = { subject: ctx.state.subject, requestId: ctx.state.requestId }
        await next()
      }
      app.post('/x', toExpress(seenByInner, { asyncContext: true }), (_req, res) => {
        const ctx = currentContext()
        res.json({
          subject: ctx?.state.subject,
          requestId: ctx?.state.requestId,
          same: ctx !== undefined && ctx === res.locals.aikit,
        })
      })
      const url = await start(app)
      const res = await post(`${url}/x`, 'alice')
      const id = res.headers.get('x-request-id')
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      expect(await res.json()).toEqual({ subject: 'alice', requestId: id, same: true })
      expect(inner).toEqual({ subject: 'alice', requestId: id })
      // One Context: one request line, carrying the subject and the id the client got.
      expect(log.lines).toHaveLength(1)
      expect(log.lines[0]).toMatchObject({ requestId: id, status: 200, subject: 'alice' })
    })

    it('a route-level rateLimit keys by the subject the app-level auth set, not one IP bucket', async () => {
      const log = captureLogger()
      const app = factory()
      app.use(toExpress(requestLogger(log), auth))
      const limited = rateLimit({ limits: [{ limit: 1, window: '1m' }] })
      app.post('/chat', toExpress(limited), (_req, res) => {
        res.json({ ok: true })
      })
      const url = await start(app)
      const first = await post(`${url}/chat`, 'alice')
      const again = await post(`${url}/chat`, 'alice')
      const bob = await post(`${url}/chat`, 'bob')
      expect([first.status, again.status, bob.status]).toEqual([200, 429, 200])
      // The 429 the inner chain answered is logged once, by the outer logger, with its status.
      expect(log.lines.map((l) => [l.subject, l.status])).toEqual([
        ['alice', 200],
        ['alice', 429],
        ['bob', 200],
      ])
      expect(log.lines.map((l) => l.requestId)).toEqual(
        [first, again, bob].map((r) => r.headers.get('x-request-id'))
      )
      expect(limited.stats()).toEqual({ checked: 3, unkeyed: 0 })
    })

    it("onHeaders and finished of both chains run once, on one Context, with the route's status", async () => {
      const seen: unknown[] = []
      const contexts = new Set<Context>()
      const app = factory()
      app.use(
        toExpress(async (ctx, next) => {
          contexts.add(ctx)
          ctx.state.subject = 'outer-user'
          ctx.setHeader('x-outer', '1')
          ctx.onHeaders(() => seen.push(['outer head', ctx.status, ctx.state.subject]))
          onFinished(ctx, (info: FinishInfo) =>
            seen.push(['outer finish', ctx.status, info.aborted])
          )
          await next()
          seen.push(['outer next', ctx.headersSent, ctx.status])
        })
      )
      app.get(
        '/r',
        toExpress(async (ctx, next) => {
          contexts.add(ctx)
          ctx.setHeader('x-inner', '1')
          ctx.onHeaders(() => seen.push(['inner head', ctx.status, ctx.state.subject]))
          void ctx.finished.then((info) => seen.push(['inner finish', ctx.status, info.aborted]))
          await next()
          seen.push(['inner next', ctx.headersSent, ctx.status])
        }),
        (_req, res) => {
          contexts.add(res.locals.aikit as Context)
          res.status(201).send('made')
        }
      )
      const url = await start(app)
      const res = await fetch(`${url}/r`)
      expect(res.status).toBe(201)
      expect(await res.text()).toBe('made')
      expect(res.headers.get('x-outer')).toBe('1')
      expect(res.headers.get('x-inner')).toBe('1')
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(6)
      expect(contexts.size).toBe(1)
      // Hooks run in reverse order of registration (the inner chain's first), each once.
      expect(seen.slice(0, 2)).toEqual([
        ['inner head', 201, 'outer-user'],
        ['outer head', 201, 'outer-user'],
      ])
      expect(seen.slice(2).sort()).toEqual(
        [
          ['inner next', true, 201],
          ['outer next', true, 201],
          ['inner finish', 201, false],
          ['outer finish', 201, false],
        ].sort()
      )
    })

    it("an inner chain's respond() short-circuit is the outer chain's response: logged once with its status", async () => {
      const log = captureLogger()
      const outer: string[] = []
      const app = factory()
      app.use(
        toExpress(requestLogger(log), auth, async (ctx, next) => {
          ctx.onHeaders(() => outer.push(`head ${ctx.status}`))
          await next()
          outer.push(`after ${ctx.status} ${String(extra(ctx).reason)}`)
        })
      )
      const busy: Middleware = async (ctx) => {
        extra(ctx).reason = 'busy'
        ctx.respond(429, { error: { code: 'BUSY' } }, { 'retry-after': '7' })
      }
      let routeRan = false
      app.post('/busy', toExpress(busy), (_req, res) => {
        routeRan = true
        res.send('no')
      })
      const url = await start(app)
      const res = await post(`${url}/busy`, 'carol')
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toBe('7')
      expect(await res.json()).toEqual({ error: { code: 'BUSY' } })
      expect(routeRan).toBe(false)
      await expect.poll(() => log.lines.length, { timeout: 10_000 }).toBe(1)
      expect(log.lines[0]).toMatchObject({
        requestId: res.headers.get('x-request-id'),
        status: 429,
        subject: 'carol',
      })
      expect(outer).toEqual(['head 429', 'after 429 busy'])
    })

    it("an error thrown in the inner chain goes through the Context's error handling (onError, status, logger)", async () => {
      const log = captureLogger()
      const reported: unknown[] = []
      const app = factory()
      app.use(
        toExpress(requestLogger(log), auth, {
          onError: (error, ctx) => reported.push([(error as Error).message, ctx.state.subject]),
        })
      )
      let outerError: unknown
      app.use(
        toExpress(async (ctx, next) => {
          await next()
          outerError = ctx.error
        })
      )
      app.post(
        '/boom',
        toExpress(async () => {
          throw new Error('inner failure')
        }),
        (_req, res) => {
          res.send('unreached')
        }
      )
      app.post(
        '/forbidden',
        toExpress(async () => {
          throw new AikitError('FORBIDDEN', 403, 'not yours')
        }),
        (_req, res) => {
          res.send('unreached')
        }
      )
      const url = await start(app)
      const boom = await post(`${url}/boom`, 'dave')
      expect(boom.status).toBe(500)
      expect(await boom.json()).toMatchObject({ error: { code: 'INTERNAL' } })
      expect(reported).toEqual([['inner failure', 'dave']])
      expect((outerError as Error).message).toBe('inner failure')
      const forbidden = await post(`${url}/forbidden`, 'erin')
      expect(forbidden.status).toBe(403)
      expect(await forbidden.json()).toMatchObject({ error: { code: 'FORBIDDEN' } })
      expect((outerError as AikitError).code).toBe('FORBIDDEN')
      // Kit errors are answered, not reported.
      expect(reported).toHaveLength(1)
      await expect.poll(() => log.lines.length, { timeout: 10_000 }).toBe(2)
      expect(log.lines.map((l) => [l.subject, l.status])).toEqual([
        ['dave', 500],
        ['erin', 403],
      ])
    })

    it('the handler runs in the scope of the one Context when only the route-level chain asks for it, body parser between', async () => {
      const app = factory()
      app.use(toExpress(auth, { asyncContext: false }))
      // body-parser resumes from the request stream's events, outside any scope entered before it.
      app.use(factory.json())
      app.post(
        '/scoped',
        toExpress(async (_ctx, next) => next(), { asyncContext: true }),
        async (req, res) => {
          await Promise.resolve()
          const ctx = currentContext()
          res.json({
            same: ctx !== undefined && ctx === res.locals.aikit,
            subject: ctx?.state.subject,
            body: req.body as unknown,
          })
        }
      )
      const url = await start(app)
      const res = await post(`${url}/scoped`, 'frank')
      expect(await res.json()).toEqual({ same: true, subject: 'frank', body: { q: 1 } })
    })

    it('a later header-only chain sets its headers on the same Context and scopes the handler in it', async () => {
      const app = factory()
      app.use(
        toExpress(auth, async (ctx, next) => {
          // Replaced by the later chain's header of the same name: the last writer wins.
          ctx.setHeader('x-frame-options', 'SAMEORIGIN')
          await next()
        })
      )
      const headerOnly = markStaticHeaders(
        async (_ctx: Context, next: () => Promise<void>) => next(),
        {
          names: ['X-Frame-Options', 'X-Static'],
          lowerNames: ['x-frame-options', 'x-static'],
          values: ['DENY', 'yes'],
          removePoweredBy: false,
        }
      )
      app.post('/h', toExpress(headerOnly, { asyncContext: true }), (_req, res) => {
        const ctx = currentContext()
        res.json({
          same: ctx !== undefined && ctx === res.locals.aikit,
          subject: ctx?.state.subject,
        })
      })
      const url = await start(app)
      const res = await post(`${url}/h`, 'gina')
      expect(await res.json()).toEqual({ same: true, subject: 'gina' })
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('x-static')).toBe('yes')
    })

    it("keeps the first chain's options for the request and warns once about a later chain's other ones", async () => {
      const warnings: [string, unknown][] = []
      vi.spyOn(process, 'emitWarning').mockImplementation(((message: string, options: unknown) => {
        warnings.push([message, (options as { code?: string }).code])
      }) as typeof process.emitWarning)
      const app = factory()
      app.use(toExpress(auth, { trustProxy: 1 }))
      const ip =
        (tag: string): Middleware =>
        async (ctx, next) => {
          extra(ctx).ips = [...(extra(ctx).ips ?? []), `${tag}:${ctx.ip}`]
          await next()
        }
      // Same values as the Context's, or none: nothing to say.
      app.get('/same', toExpress(ip('same'), { trustProxy: 1 }), (_req, res) => {
        res.json(res.locals.aikit && extra(res.locals.aikit).ips)
      })
      app.get('/none', toExpress(ip('none')), (_req, res) => {
        res.json(res.locals.aikit && extra(res.locals.aikit).ips)
      })
      app.get(
        '/other',
        toExpress(ip('other'), { trustProxy: false, maxBodyBytes: 10 }),
        (_req, res) => {
          res.json(res.locals.aikit && extra(res.locals.aikit).ips)
        }
      )
      const url = await start(app)
      const get = async (path: string) =>
        (await fetch(`${url}${path}`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).json()
      expect(await get('/same')).toEqual(['same:203.0.113.9'])
      expect(await get('/none')).toEqual(['none:203.0.113.9'])
      expect(warnings).toEqual([])
      // The request's IP was resolved with the first chain's trustProxy: it stays that one.
      expect(await get('/other')).toEqual(['other:203.0.113.9'])
      expect(await get('/other')).toEqual(['other:203.0.113.9'])
      expect(warnings).toHaveLength(1)
      expect(warnings[0]![1]).toBe('AIKIT_EXPRESS_OPTIONS')
      expect(warnings[0]![0]).toContain('trustProxy, maxBodyBytes')
    })
  })
}
