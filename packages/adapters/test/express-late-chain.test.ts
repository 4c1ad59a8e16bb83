/**
 * A `toExpress` chain that joins the request's Context after the head was written: a plain
 * handler before it wrote or flushed the head (an event stream's preamble) and still called
 * `next()`. The chain's middleware run on that Context, which knows the head is out: a
 * `ctx.setHeader` is refused (HEADERS_SENT, to `onError`) and a 429 cannot be sent. Such a chain
 * that does not hand the request on closes the response, as Express does for an error after the
 * head; before, nothing ended it and the client waited until it gave up. A chain that hands on
 * leaves the response to the route. Also: the options warning does not fire for a later call's
 * `trustProxy` that is the first call's in another spelling.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import type { AikitError, Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

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

/**
 * What the client got: the body and whether the response ended, or was cut off (`closed`), or
 * still hung after a while (`open`, the old behaviour; a guard, not a measured duration).
 */
async function outcome(url: string): Promise<{ status: number; body: string; end: string }> {
  const res = await fetch(url)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let body = ''
  const hung = Symbol('hung')
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined
    const guard = new Promise<typeof hung>((resolve) => {
      timer = setTimeout(() => resolve(hung), 4000)
    })
    try {
      const step = await Promise.race([reader.read(), guard])
      if (step === hung) {
        await reader.cancel()
        return { status: res.status, body, end: 'open' }
      }
      if (step.done) return { status: res.status, body, end: 'ended' }
      body += decoder.decode(step.value, { stream: true })
    } catch {
      return { status: res.status, body, end: 'closed' }
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The event-stream preamble a handler flushes before the rest of the stack runs. */
const preamble: express.RequestHandler = (_req, res, next) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.write(': open\n\n')
  next()
}

for (const [name, factory] of [
  ['express 5', express],
  ['express 4', express4],
] as const) {
  describe(`a toExpress chain joining after the head on ${name}`, () => {
    it('closes the response when its middleware fail or answer instead of handing on', async () => {
      const reported: string[] = []
      const app = factory()
      app.use(
        toExpress(async (_ctx, next) => next(), {
          onError: (error) => reported.push((error as AikitError).code ?? String(error)),
        })
      )
      app.use(preamble)
      let routeRan = false
      const route: express.RequestHandler = (_req, res) => {
        routeRan = true
        res.end('data: route\n\n')
      }
      const setsHeader: Middleware = async (ctx, next) => {
        ctx.setHeader('x-limit', '10')
        await next()
      }
      const answers: Middleware = async (ctx) => {
        ctx.respond(429, { error: { code: 'RATE_LIMITED' } })
      }
      const returns: Middleware = async () => {}
      app.get('/header', toExpress(setsHeader), route)
      app.get('/answer', toExpress(answers), route)
      app.get('/nothing', toExpress(returns), route)
      const url = await start(app)
      for (const path of ['/header', '/answer', '/nothing']) {
        expect(await outcome(`${url}${path}`)).toEqual({
          status: 200,
          body: ': open\n\n',
          end: 'closed',
        })
      }
      expect(routeRan).toBe(false)
      // The refused header and the refused 429, once each; returning is no error.
      expect(reported).toEqual(['HEADERS_SENT', 'HEADERS_SENT'])
    })

    it('leaves the response to the route when the chain hands on', async () => {
      const app = factory()
      app.use(toExpress(async (_ctx, next) => next()))
      app.use(preamble)
      const seen: boolean[] = []
      app.get(
        '/pass',
        toExpress(async (ctx, next) => {
          seen.push(ctx.headersSent)
          await next()
          seen.push(ctx.headersSent)
        }),
        (_req, res) => {
          setTimeout(() => res.end('data: route\n\n'), 10)
        }
      )
      const url = await start(app)
      expect(await outcome(`${url}/pass`)).toEqual({
        status: 200,
        body: ': open\n\ndata: route\n\n',
        end: 'ended',
      })
      expect(seen).toEqual([true, true])
    })

    it("does not warn about a later call's trustProxy that is the first call's in another form", async () => {
      const warnings: unknown[] = []
      vi.spyOn(process, 'emitWarning').mockImplementation(((message: string) => {
        warnings.push(message)
      }) as typeof process.emitWarning)
      const app = factory()
      app.use(
        '/list',
        toExpress(async (_ctx, next) => next(), { trustProxy: ['loopback', 'uniquelocal'] })
      )
      app.get(
        '/list',
        toExpress(async (_ctx, next) => next(), { trustProxy: 'uniquelocal, loopback' }),
        (_req, res) => {
          res.send(res.locals.aikit?.ip)
        }
      )
      app.use(
        '/zero',
        toExpress(async (_ctx, next) => next())
      )
      app.get(
        '/zero',
        toExpress(async (_ctx, next) => next(), { trustProxy: 0 }),
        (_req, res) => {
          res.send(res.locals.aikit?.ip)
        }
      )
      app.use(
        '/other',
        toExpress(async (_ctx, next) => next())
      )
      app.get(
        '/other',
        toExpress(async (_ctx, next) => next(), { trustProxy: 1 }),
        (_req, res) => {
          res.send(res.locals.aikit?.ip)
        }
      )
      const url = await start(app)
      const get = async (path: string) =>
        (await fetch(`${url}${path}`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).text()
      expect(await get('/list')).toBe('203.0.113.9')
      expect(await get('/zero')).toBe('127.0.0.1')
      expect(warnings).toEqual([])
      // A value that does differ is still named.
      expect(await get('/other')).toBe('127.0.0.1')
      expect(warnings).toHaveLength(1)
      expect(String(warnings[0])).toContain('trustProxy')
    })
  })
}
