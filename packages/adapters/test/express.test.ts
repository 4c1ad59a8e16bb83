import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import {
  type Context,
  currentContext,
  InvalidOptionsError,
  type Middleware,
  requireAsyncContext,
} from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

// These tests read currentContext() in handlers from the first request on: declare it, as the
// kit's own readers (LLM wrappers, logger, Sentry) do when created (asyncContext 'auto').
requireAsyncContext()

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function start(app: express.Express): Promise<string> {
  const server = await listen(createServer(app))
  servers.push(server)
  return server.url
}

function invalid(fn: () => unknown): InvalidOptionsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected InvalidOptionsError')
}

const pass: Middleware = async (_ctx, next) => next()

describe('toExpress options', () => {
  it('names the invalid field', () => {
    expect(invalid(() => toExpress(pass, { trustProxy: true as never })).field).toBe('trustProxy')
    expect(invalid(() => toExpress(pass, { trustProxy: ['nonsense'] })).field).toBe('trustProxy[0]')
    expect(invalid(() => toExpress(pass, { maxBodyBytes: -1 })).field).toBe('maxBodyBytes')
    expect(invalid(() => toExpress(pass, { maxJsonDepth: 0 })).field).toBe('maxJsonDepth')
    expect(invalid(() => toExpress(pass, { onError: {} as never })).field).toBe('onError')
    expect(invalid(() => toExpress(pass, 7 as never)).field).toBe('middleware[1]')
    expect(invalid(() => toExpress(null as never, pass)).field).toBe('middleware[0]')
  })
})

for (const [name, factory] of [
  ['express 5', express],
  ['express 4', express4],
] as const) {
  describe(`toExpress on ${name}`, () => {
    it('hooks the head on the Express response prototype, adding no property to the response', async () => {
      // V8 makes each new own property of a prototype-swapped Express response costly.
      const app = factory()
      app.use(toExpress(pass))
      app.get('/', (_req, res) => {
        res.json({ own: Object.getOwnPropertyNames(res).filter((k) => k === 'writeHead') })
      })
      const url = await start(app)
      expect(await (await fetch(url)).json()).toEqual({ own: [] })
    })

    it('sees the head through two layers, a mounted sub-app and a per-response writeHead patch', async () => {
      const app = factory()
      const seen: string[] = []
      const layer =
        (tag: string): Middleware =>
        async (ctx, next) => {
          ctx.setHeader(`x-${tag}`, tag)
          ctx.onHeaders(() => {
            seen.push(`${tag}:${ctx.status}`)
          })
          await next()
          seen.push(`${tag}:after:${ctx.headersSent}`)
        }
      app.use(toExpress(layer('outer')))
      // An on-headers style patch of this response object, installed after the kit's hook.
      app.use((_req, res, next) => {
        const prev = res.writeHead
        res.writeHead = function (this: typeof res, ...args: unknown[]) {
          res.setHeader('x-patched', '1')
          return (prev as (...a: unknown[]) => typeof res).apply(this, args)
        } as typeof res.writeHead
        next()
      })
      const sub = factory()
      sub.use(toExpress(layer('inner')))
      sub.get('/x', (_req, res) => {
        res.status(202).send('sub')
      })
      app.use('/sub', sub)
      app.get('/plain', (_req, res) => {
        res.status(203).send('plain')
      })
      const url = await start(app)
      const sub202 = await fetch(`${url}/sub/x`)
      expect(sub202.status).toBe(202)
      expect(await sub202.text()).toBe('sub')
      expect(sub202.headers.get('x-outer')).toBe('outer')
      expect(sub202.headers.get('x-inner')).toBe('inner')
      expect(sub202.headers.get('x-patched')).toBe('1')
      expect(seen.sort()).toEqual(
        ['inner:202', 'inner:after:true', 'outer:202', 'outer:after:true'].sort()
      )
      seen.length = 0
      const plain = await fetch(`${url}/plain`)
      expect(plain.status).toBe(203)
      expect(plain.headers.get('x-outer')).toBe('outer')
      expect(plain.headers.get('x-inner')).toBeNull()
      expect(seen.sort()).toEqual(['outer:203', 'outer:after:true'])
      // A plain node:http response in the same process is left alone by the Express hook.
      const bare = createServer((_req, res) => {
        res.writeHead(200, { 'x-bare': '1' })
        res.end('bare')
      })
      const bareServer = await listen(bare)
      servers.push(bareServer)
      const b = await fetch(bareServer.url)
      expect(b.headers.get('x-bare')).toBe('1')
      expect(b.headers.get('x-outer')).toBeNull()
    })

    it('exposes the ctx as res.locals.aikit (state, signal) and as currentContext()', async () => {
      const app = factory()
      app.use(
        toExpress(async (ctx, next) => {
          ctx.state.subject = 'user-1'
          await next()
        })
      )
      app.get('/me', (_req, res) => {
        const ctx = res.locals.aikit as Context
        res.json({
          subject: ctx.state.subject,
          aborted: ctx.signal.aborted,
          same: currentContext() === ctx,
        })
      })
      const url = await start(app)
      const res = await fetch(`${url}/me`)
      expect(await res.json()).toEqual({ subject: 'user-1', aborted: false, same: true })
    })

    it('reads the full path when mounted under a prefix', async () => {
      const app = factory()
      let seen = ''
      app.use(
        '/api',
        toExpress(async (ctx, next) => {
          seen = `${ctx.path}?${ctx.query}`
          await next()
        })
      )
      app.get('/api/items', (_req, res) => {
        res.send('items')
      })
      const url = await start(app)
      const res = await fetch(`${url}/api/items?page=2`)
      expect(await res.text()).toBe('items')
      expect(seen).toBe('/api/items?page=2')
    })

    it('reuses a body express.json() parsed before it', async () => {
      const app = factory()
      app.use(factory.json())
      app.use(
        toExpress(async (ctx) => {
          ctx.respond(200, { got: await ctx.json() })
        })
      )
      const url = await start(app)
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":[1,2]}',
      })
      expect(await res.json()).toEqual({ got: { a: [1, 2] } })
    })

    it("onHeaders sees Express's own error response and the route header wins", async () => {
      const statuses: (number | undefined)[] = []
      const app = factory()
      app.use(
        toExpress(async (ctx, next) => {
          ctx.setHeader('x-powered', 'aikit')
          ctx.onHeaders(() => statuses.push(ctx.status))
          await next()
        })
      )
      app.get('/boom', () => {
        throw new Error('route failure')
      })
      app.get('/own', (_req, res) => {
        res.set('x-powered', 'route').send('own')
      })
      // Express' error handler signature needs four parameters.
      app.use(
        (
          _err: unknown,
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction
        ) => {
          res.status(503).send('unavailable')
        }
      )
      const url = await start(app)
      const boom = await fetch(`${url}/boom`)
      expect(boom.status).toBe(503)
      expect(boom.headers.get('x-powered')).toBe('aikit')
      const own = await fetch(`${url}/own`)
      expect(own.headers.get('x-powered')).toBe('route')
      expect(statuses).toEqual([503, 200])
    })

    it('a route streaming with several res.write calls fires onHeaders once', async () => {
      let calls = 0
      let finished: unknown
      const app = factory()
      app.use(
        toExpress(async (ctx, next) => {
          ctx.onHeaders(() => calls++)
          void ctx.finished.then((f) => {
            finished = f
          })
          await next()
        })
      )
      app.get('/chunks', (_req, res) => {
        res.write('a')
        res.write('b')
        setTimeout(() => res.end('c'), 10)
      })
      const url = await start(app)
      const res = await fetch(`${url}/chunks`)
      expect(await res.text()).toBe('abc')
      expect(calls).toBe(1)
      await expect.poll(() => finished, { timeout: 10_000 }).toEqual({ aborted: false })
    })
  })
}
