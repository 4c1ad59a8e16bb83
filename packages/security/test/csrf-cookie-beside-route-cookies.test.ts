/**
 * csrf() token mode issues its `__Host-aikit-csrf` cookie on a safe request without a valid one.
 * Guaranteed on every adapter (node:http, Express, Fastify, Next): the token cookie is sent next to
 * the cookies the route sets, whichever way the framework lets it set them (`res.setHeader`, which
 * replaces what the response held, `writeHead` headers, Express' `res.cookie`, Fastify's
 * `reply.header`, a Next `Response`), next to a cookie an earlier middleware set with
 * `ctx.setHeader` and one a later middleware added with `ctx.appendHeader`. A client without Fetch Metadata needs that cookie for its unsafe requests.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { csrf } from '../src/index.js'

const SESS = 'sess=1; Path=/'
const THEME = 'theme=dark; Path=/'

const servers: Server[] = []
const fastifies: FastifyInstance[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  await Promise.all(fastifies.map((f) => f.close()))
})

const token = () => csrf({ token: { secrets: ['s'.repeat(40)], sessionId: () => 'session-1' } })

/** A middleware before csrf() that sets a cookie of its own through the context. */
const earlierCookie: Middleware = async (ctx, next) => {
  ctx.setHeader('Set-Cookie', 'mw=1; Path=/')
  await next()
}

/** A middleware after csrf() that adds a cookie of its own through the context. */
const laterCookie: Middleware = async (ctx, next) => {
  ctx.appendHeader('Set-Cookie', 'later=1; Path=/')
  await next()
}

async function serve(server: Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** GETs `/` and returns the Set-Cookie lines. */
type Start = (mw: Middleware[]) => Promise<() => Promise<string[]>>

function overHttp(start: (mw: Middleware[]) => Promise<string>): Start {
  return async (mw) => {
    const base = await start(mw)
    return async () => {
      const res = await fetch(`${base}/`)
      expect(res.status).toBe(200)
      await res.text()
      return res.headers.getSetCookie()
    }
  }
}

type NodeRoute = (res: import('node:http').ServerResponse) => void

const node = (route: NodeRoute): Start =>
  overHttp((mw) =>
    serve(
      createServer(
        toNodeHandler(...mw, {
          handler: (_req, res) => route(res),
        })
      )
    )
  )

const viaExpress = (route: (res: express.Response) => void): Start =>
  overHttp((mw) => {
    const app = express()
    app.use(toExpress(...mw))
    app.get('/', (_req, res) => route(res))
    return serve(createServer(app))
  })

const viaFastify = (route: (reply: import('fastify').FastifyReply) => unknown): Start =>
  overHttp(async (mw) => {
    const app = Fastify({ logger: false })
    fastifies.push(app)
    await app.register(aikitFastify, { use: mw })
    app.get('/', async (_req, reply) => route(reply))
    await app.listen({ port: 0, host: '127.0.0.1' })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })

const viaNext =
  (headers: () => Headers): Start =>
  async (mw) => {
    const route = withAikit(async () => new Response('route', { headers: headers() }), ...mw)
    return async () => {
      const res = await route(
        new Request('http://app.test/', { headers: { host: 'app.test' } }),
        {}
      )
      expect(res.status).toBe(200)
      return res.headers.getSetCookie()
    }
  }

const twoCookies = (): Headers => {
  const h = new Headers()
  h.append('Set-Cookie', SESS)
  h.append('Set-Cookie', THEME)
  return h
}

/** [adapter and how the route sets its cookies, app, the route's cookies]. */
const CASES: [string, Start, string[]][] = [
  [
    'node:http, res.setHeader',
    node((res) => {
      res.setHeader('Set-Cookie', SESS)
      res.end('route')
    }),
    [SESS],
  ],
  [
    'node:http, res.setHeader with two cookies',
    node((res) => {
      res.setHeader('Set-Cookie', [SESS, THEME])
      res.end('route')
    }),
    [SESS, THEME],
  ],
  [
    'node:http, res.appendHeader',
    node((res) => {
      res.appendHeader('Set-Cookie', SESS)
      res.end('route')
    }),
    [SESS],
  ],
  [
    'node:http, writeHead headers object',
    node((res) => {
      res.writeHead(200, { 'Set-Cookie': SESS })
      res.end('route')
    }),
    [SESS],
  ],
  [
    'node:http, writeHead raw header array',
    node((res) => {
      res.writeHead(200, ['Set-Cookie', SESS])
      res.end('route')
    }),
    [SESS],
  ],
  [
    'node:http, no cookie of its own',
    node((res) => {
      res.end('route')
    }),
    [],
  ],
  [
    'express, res.setHeader',
    viaExpress((res) => {
      res.setHeader('Set-Cookie', SESS)
      res.end('route')
    }),
    [SESS],
  ],
  [
    'express, res.cookie',
    viaExpress((res) => {
      res.cookie('sess', '1').send('route')
    }),
    ['sess=1; Path=/'],
  ],
  [
    'express, res.set with two cookies',
    viaExpress((res) => {
      res.set('Set-Cookie', [SESS, THEME]).send('route')
    }),
    [SESS, THEME],
  ],
  [
    'fastify, reply.header',
    viaFastify((reply) => reply.header('set-cookie', SESS).send('route')),
    [SESS],
  ],
  [
    'fastify, reply.headers with two cookies',
    viaFastify((reply) => reply.headers({ 'set-cookie': [SESS, THEME] }).send('route')),
    [SESS, THEME],
  ],
  [
    'fastify, reply.raw.setHeader',
    viaFastify((reply) => {
      reply.raw.setHeader('Set-Cookie', SESS)
      return reply.send('route')
    }),
    [SESS],
  ],
  ['next, Response with a cookie', viaNext(() => new Headers({ 'Set-Cookie': SESS })), [SESS]],
  ['next, Response with two cookies', viaNext(twoCookies), [SESS, THEME]],
]

const isToken = (c: string) => c.startsWith('__Host-aikit-csrf=')

describe('the csrf token cookie is sent next to the route’s own cookies', () => {
  for (const [name, start, own] of CASES) {
    it(`${name}: the route's cookies and one token cookie are sent`, async () => {
      const get = await start([token()])
      const cookies = await get()
      for (const c of own) expect(cookies).toContain(c)
      expect(cookies.filter(isToken)).toHaveLength(1)
      expect(cookies).toHaveLength(own.length + 1)
    })

    it(`${name}: an earlier middleware's ctx.setHeader cookie is kept too`, async () => {
      const get = await start([earlierCookie, token()])
      const cookies = await get()
      for (const c of own) expect(cookies).toContain(c)
      expect(cookies).toContain('mw=1; Path=/')
      expect(cookies.filter(isToken)).toHaveLength(1)
      expect(cookies).toHaveLength(own.length + 2)
    })

    it(`${name}: a later middleware's ctx.appendHeader cookie is kept too`, async () => {
      const get = await start([token(), laterCookie])
      const cookies = await get()
      for (const c of own) expect(cookies).toContain(c)
      expect(cookies).toContain('later=1; Path=/')
      expect(cookies.filter(isToken)).toHaveLength(1)
      expect(cookies).toHaveLength(own.length + 2)
    })
  }
})
