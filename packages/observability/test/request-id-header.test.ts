import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import { type Context, InvalidRequestError, type Middleware } from '@aikit/core'
import { createLogger, requestLogger } from '@aikit/observability'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { type AppFactory, closeAll, expressApp, fastifyApp, nodeApp } from './servers.js'

afterAll(closeAll)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function sink() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l))
      cb()
    },
  })
  return { lines, stream }
}

/** Until `cond()` holds, at most 10 s (a loaded runner takes longer than any fixed bound). */
const waitFor = async (cond: () => boolean) => {
  for (let end = Date.now() + 10_000; Date.now() < end && !cond(); ) {
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Answers `/denied` with the kit's JSON error (a middleware after requestLogger throws). */
const denyPath: Middleware = (ctx, next) =>
  ctx.path === '/denied' ? Promise.reject(new InvalidRequestError('denied')) : next()

const nodeRoute = (ctx: Context) => (ctx.path.startsWith('/items/') ? '/items/:id' : undefined)

describe.each<[string, AppFactory, boolean]>([
  ['Express', expressApp, false],
  ['Fastify', fastifyApp, false],
  ['node', nodeApp, true],
])('X-Request-Id on %s', (_name, start, needsRoute) => {
  it('is on the 200, the kit JSON error, the route error and the 404, the same id as the line', async () => {
    const { lines, stream } = sink()
    const base = await start([
      requestLogger(createLogger({ stream }), needsRoute ? { route: nodeRoute } : {}),
      denyPath,
    ])
    const seen: [number, string | null][] = []
    for (const path of ['/items/1', '/denied', '/boom', '/nope']) {
      const res = await fetch(base + path)
      await res.text()
      seen.push([res.status, res.headers.get('x-request-id')])
    }
    expect(seen.map(([status]) => status)).toEqual([200, 400, 500, 404])
    for (const [, id] of seen) expect(id).toMatch(UUID)
    expect(new Set(seen.map(([, id]) => id)).size).toBe(4)
    await waitFor(() => lines.length >= 4)
    const logged = lines.filter((l) => l.message === 'request')
    expect(logged.map((l) => [l.status, l.requestId])).toEqual(seen)
  })

  it('echoes a safe incoming id on success and on errors, and replaces an unsafe one', async () => {
    const { stream } = sink()
    const base = await start([
      requestLogger(createLogger({ stream }), needsRoute ? { route: nodeRoute } : {}),
      denyPath,
    ])
    for (const path of ['/items/1', '/denied', '/boom']) {
      const res = await fetch(base + path, { headers: { 'x-request-id': `client-${path.length}` } })
      await res.text()
      expect(res.headers.get('x-request-id')).toBe(`client-${path.length}`)
    }
    const res = await fetch(`${base}/items/1`, { headers: { 'x-request-id': 'no spaces allowed' } })
    await res.text()
    expect(res.headers.get('x-request-id')).toMatch(UUID)
  })

  it("gives way to a later middleware's ctx.setHeader of the same name, as under Next", async () => {
    const { stream } = sink()
    const traced: Middleware = (ctx, next) => {
      ctx.setHeader('X-Request-Id', `trace-${ctx.state.requestId}`)
      return next()
    }
    const base = await start([
      requestLogger(createLogger({ stream }), needsRoute ? { route: nodeRoute } : {}),
      traced,
      denyPath,
    ])
    for (const path of ['/items/1', '/denied']) {
      const res = await fetch(base + path, { headers: { 'x-request-id': 'abc-3' } })
      await res.text()
      expect(res.headers.get('x-request-id'), path).toBe('trace-abc-3')
    }
  })

  it('a custom generator keeps the checked ctx.setHeader path: an id with a newline never reaches the head', async () => {
    const { stream } = sink()
    const base = await start([
      requestLogger(createLogger({ stream }), {
        generate: () => 'bad\r\nInjected: yes',
        ...(needsRoute ? { route: nodeRoute } : {}),
      }),
    ])
    const res = await fetch(`${base}/items/1`)
    await res.text()
    expect(res.status).toBe(500)
    expect(res.headers.get('injected')).toBeNull()
  })
})

describe('X-Request-Id on the framework response', () => {
  // The header sits on the framework's own response from the start: the route can read it there.
  it('Fastify: reply.getHeader in the route sees the id, and the route may still replace it', async () => {
    const app = Fastify({ logger: false })
    await app.register(aikitFastify, {
      use: [requestLogger(createLogger({ stream: sink().stream }))],
    })
    app.get('/read', async (_req, reply) => ({ id: reply.getHeader('x-request-id') ?? null }))
    app.get('/replace', async (_req, reply) => {
      reply.header('X-Request-Id', 'from-route')
      return {}
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      const res = await fetch(`${base}/read`, { headers: { 'x-request-id': 'abc-1' } })
      expect(await res.json()).toEqual({ id: 'abc-1' })
      expect(res.headers.get('x-request-id')).toBe('abc-1')
      const replaced = await fetch(`${base}/replace`)
      await replaced.text()
      expect(replaced.headers.get('x-request-id')).toBe('from-route')
    } finally {
      await app.close()
    }
  })

  it('Express and node:http: res.getHeader in the route sees the id', async () => {
    const read = (_req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ id: res.getHeader('X-Request-Id') ?? null }))
    }
    const app = express()
    app.use(toExpress(requestLogger(createLogger({ stream: sink().stream }))))
    app.get('/read', read)
    const servers = [
      createServer(app),
      createServer(
        toNodeHandler(requestLogger(createLogger({ stream: sink().stream })), { handler: read })
      ),
    ]
    try {
      for (const server of servers) {
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
        const port = (server.address() as AddressInfo).port
        const res = await fetch(`http://127.0.0.1:${port}/read`, {
          headers: { 'x-request-id': 'abc-2' },
        })
        expect(await res.json()).toEqual({ id: 'abc-2' })
        expect(res.headers.get('x-request-id')).toBe('abc-2')
      }
    } finally {
      for (const s of servers) s.closeAllConnections()
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    }
  })

  it('Next (withAikit), which has no native response, gets the header through ctx.setHeader', async () => {
    const { withAikit } = await import('@aikit/adapters/next')
    const mw = requestLogger(createLogger({ stream: sink().stream }))
    const GET = withAikit(async () => Response.json({ ok: true }), mw, denyPath)
    const ok = await GET(new Request('http://localhost/items/1'), {})
    await ok.text()
    expect(ok.headers.get('x-request-id')).toMatch(UUID)
    const denied = await GET(
      new Request('http://localhost/denied', { headers: { 'x-request-id': 'next-1' } }),
      {}
    )
    expect(denied.status).toBe(400)
    await denied.text()
    expect(denied.headers.get('x-request-id')).toBe('next-1')
  })
})
