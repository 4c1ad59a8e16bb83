/**
 * Test harness shared by the headers/CSP/CORS/CSRF tests: the same small app on every adapter
 * (node:http, Express 5, Fastify 5 over real sockets on 127.0.0.1; Next's `withAikit` and
 * `aikitProxy` called with real Web `Request` objects), and a raw HTTP client that can send any
 * header (Host, Origin, Sec-Fetch-Site, Cookie) exactly as given.
 *
 * Routes: `ALL /api/chat` (counts handler calls, answers JSON with the request's CSP nonce as the
 * framework exposes it), `GET /page` (HTML), `/boom` (throws). `errorProbe` (put it after the
 * middleware under test) turns `/e/400`, `/e/403`, `/e/413`, `/e/429` into the kit's own errors.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { aikitProxy, withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import {
  currentContext,
  InvalidRequestError,
  type Middleware,
  requireAsyncContext,
} from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { CsrfRejectedError } from '../src/errors.js'
import { APP_HOST, type Reply, type RequestInit, rawSend } from './headers-raw-send.js'

// The node stack's handler reads currentContext() from the first request on: declare it, as the
// kit's own readers (LLM wrappers, logger, Sentry) do when created (asyncContext 'auto').
requireAsyncContext()

export { APP_HOST, type Reply, type RequestInit } from './headers-raw-send.js'

export interface Stack {
  name: string
  /** Handler calls so far (reset by `resetCalls`). */
  calls(): number
  resetCalls(): void
  send(path: string, init?: RequestInit): Promise<Reply>
  /** The server's base URL when it listens on a socket (not the in-process Next stacks). */
  url?: string
  close(): Promise<void>
}

export const errorProbe: Middleware = async function errorProbe(ctx, next) {
  switch (ctx.path) {
    case '/e/400':
      throw new InvalidRequestError('bad')
    case '/e/403':
      throw new CsrfRejectedError('cross-origin')
    case '/e/413':
      await ctx.json({ maxBytes: 1 })
      break
    case '/e/429':
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
      return
  }
  await next()
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    )
  })
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

const PAGE = '<!doctype html><p>page</p>'

export async function expressStack(middleware: Middleware[]): Promise<Stack> {
  let calls = 0
  const app = express()
  app.use(toExpress(...middleware))
  app.all('/api/chat', (_req, res) => {
    calls++
    res.json({ ok: true, nonce: res.locals.cspNonce ?? null })
  })
  app.get('/page', (_req, res) => {
    res.type('html').send(PAGE)
  })
  app.all('/boom', () => {
    throw new Error('secret-detail')
  })
  app.use(aikitErrorHandler())
  const server = createServer(app)
  const base = await listen(server)
  return {
    name: 'express',
    url: base,
    calls: () => calls,
    resetCalls: () => {
      calls = 0
    },
    send: (p, i) => rawSend(base, p, i),
    close: () => closeServer(server),
  }
}

export async function fastifyStack(middleware: Middleware[]): Promise<Stack> {
  let calls = 0
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: middleware, errorHandler: true })
  app.all('/api/chat', async (_req, reply) => {
    calls++
    return { ok: true, nonce: (reply as unknown as { cspNonce?: string }).cspNonce ?? null }
  })
  app.get('/page', async (_req, reply) => reply.type('text/html').send(PAGE))
  app.all('/boom', async () => {
    throw new Error('secret-detail')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return {
    name: 'fastify',
    url: base,
    calls: () => calls,
    resetCalls: () => {
      calls = 0
    },
    send: (p, i) => rawSend(base, p, i),
    close: () => app.close(),
  }
}

export async function nodeStack(middleware: Middleware[]): Promise<Stack> {
  let calls = 0
  const handler = toNodeHandler(...middleware, {
    handler: (req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/boom') throw new Error('secret-detail')
      if (path === '/page') {
        res.setHeader('content-type', 'text/html')
        res.end(PAGE)
        return
      }
      calls++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ ok: true, nonce: currentContext()?.state.cspNonce ?? null }))
    },
  })
  const server = createServer(handler)
  const base = await listen(server)
  return {
    name: 'node',
    url: base,
    calls: () => calls,
    resetCalls: () => {
      calls = 0
    },
    send: (p, i) => rawSend(base, p, i),
    close: () => closeServer(server),
  }
}

async function fromResponse(res: Response): Promise<Reply> {
  return { status: res.status, headers: res.headers, body: await res.text() }
}

function webRequest(path: string, init: RequestInit = {}): Request {
  const headers = new Headers()
  let host = APP_HOST
  for (const [k, v] of Object.entries(init.headers ?? {})) {
    if (k.toLowerCase() === 'host') host = v
    else headers.set(k, v)
  }
  // As under `next start`: the incoming Host header is on the Request.
  headers.set('host', host)
  const reqInit: globalThis.RequestInit = { method: init.method ?? 'GET', headers }
  if (init.body !== undefined) reqInit.body = init.body
  return new Request(`http://${host}${path}`, reqInit)
}

/** Next App Router route handler wrapped with `withAikit`, called with real Web Requests. */
export async function nextRouteStack(middleware: Middleware[]): Promise<Stack> {
  let calls = 0
  const route = withAikit(
    async (req: Request) => {
      const path = new URL(req.url).pathname
      if (path === '/boom') throw new Error('secret-detail')
      if (path === '/page') return new Response(PAGE, { headers: { 'content-type': 'text/html' } })
      calls++
      return Response.json({ ok: true, nonce: req.headers.get('x-nonce') })
    },
    ...middleware
  )
  return {
    name: 'next-route',
    calls: () => calls,
    resetCalls: () => {
      calls = 0
    },
    send: async (p, i) => fromResponse(await route(webRequest(p, i), {})),
    close: async () => {},
  }
}

/**
 * Next `proxy.ts` built with `aikitProxy`. A pass-through is Next's `x-middleware-next` response;
 * `calls` counts pass-throughs, and the JSON `nonce` is the `x-nonce` request header the proxy
 * hands on (Next encodes overridden request headers as `x-middleware-request-*`).
 */
export async function nextProxyStack(middleware: Middleware[]): Promise<Stack> {
  let calls = 0
  const proxy = aikitProxy(...middleware)
  return {
    name: 'next-proxy',
    calls: () => calls,
    resetCalls: () => {
      calls = 0
    },
    send: async (p, i) => {
      const res = await proxy(webRequest(p, i))
      if (res.headers.get('x-middleware-next') !== '1') return fromResponse(res)
      calls++
      const headers = new Headers(res.headers)
      return {
        status: 200,
        headers,
        body: JSON.stringify({ ok: true, nonce: res.headers.get('x-middleware-request-x-nonce') }),
      }
    },
    close: async () => {},
  }
}

export type StackFactory = (middleware: Middleware[]) => Promise<Stack>

/** Every adapter, for `describe.each`. */
export const STACKS: [string, StackFactory][] = [
  ['node', nodeStack],
  ['express', expressStack],
  ['fastify', fastifyStack],
  ['next-route', nextRouteStack],
  ['next-proxy', nextProxyStack],
]
