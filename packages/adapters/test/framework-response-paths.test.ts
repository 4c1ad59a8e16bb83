/**
 * Responses a route or the framework produces other than by a plain send, seen through kit
 * middleware on real servers on 127.0.0.1: 103 Early Hints, 100-continue, `flushHeaders`, `end()`
 * twice (node:http); 304 revalidation, automatic HEAD, `sendStatus`, redirects, `sendFile` /
 * `download`, mounted sub-apps and routers, a body cut short by an error (Express 4 and 5); HEAD
 * routes, Fastify's own 404 / 400 / 413 / 415 answers, `reply.hijack()`, onSend hooks (Fastify).
 * Each carries the middleware headers, runs `onHeaders` once with the status sent, and resolves
 * `finished` (aborted only when the response was cut short).
 */
import { writeFileSync } from 'node:fs'
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Context, Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

interface Seen {
  heads: number[]
  status?: number | undefined
  finished?: { aborted: boolean }
  path?: string
  errors: unknown[]
}

function probe(seen: Seen): Middleware {
  return async function probe(ctx: Context, next) {
    seen.path = ctx.path
    ctx.setHeader('x-kit', '1')
    ctx.onHeaders(() => {
      seen.heads.push(ctx.status ?? -1)
    })
    void ctx.finished.then((f) => {
      seen.finished = f
    })
    await next()
    seen.status = ctx.status
  }
}

function newSeen(): Seen {
  return { heads: [], errors: [] }
}

interface RawResult {
  status: number
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  body: string
  error?: string
}

/** One request over a fresh connection; resolves with what arrived (bounded by `timeoutMs`). */
function raw(
  url: string,
  opts: {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | undefined
  } = {},
  timeoutMs = 3000
): Promise<RawResult> {
  const u = new URL(url)
  return new Promise((resolve) => {
    let result: RawResult | undefined
    const chunks: Buffer[] = []
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: u.port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { connection: 'close', ...opts.headers },
        agent: false,
      },
      (res) => {
        result = {
          status: res.statusCode!,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: '',
        }
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          result!.body = Buffer.concat(chunks).toString()
          clearTimeout(timer)
          resolve(result!)
        })
        res.on('error', (e) => {
          result!.body = Buffer.concat(chunks).toString()
          result!.error = e.message
          clearTimeout(timer)
          resolve(result!)
        })
      }
    )
    const timer = setTimeout(() => {
      req.destroy()
      resolve(
        result
          ? { ...result, body: Buffer.concat(chunks).toString(), error: 'timeout' }
          : { status: 0, headers: {}, rawHeaders: [], body: '', error: 'timeout' }
      )
    }, timeoutMs)
    req.on('error', (e) => {
      if (result === undefined) {
        clearTimeout(timer)
        resolve({ status: 0, headers: {}, rawHeaders: [], body: '', error: e.message })
      }
    })
    req.end(opts.body)
  })
}

async function settle(seen: Seen): Promise<void> {
  for (const end = Date.now() + 10_000; Date.now() < end && seen.finished === undefined; ) {
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function serveNode(
  seen: Seen,
  handler: (req: IncomingMessage, res: ServerResponse) => unknown
): Promise<string> {
  const server = createServer(
    toNodeHandler(probe(seen), {
      handler,
      onError: (e) => {
        seen.errors.push(e)
      },
    })
  )
  const s = await listen(server)
  closers.push(s.close)
  return s.url
}

describe('node:http handler', () => {
  it('103 Early Hints: onHeaders fires once, for the final status', async () => {
    const seen = newSeen()
    const url = await serveNode(seen, (_req: IncomingMessage, res: ServerResponse) => {
      res.writeEarlyHints({ link: '</a.css>; rel=preload; as=style' })
      res.statusCode = 201
      res.end('ok')
    })
    const r = await raw(url)
    await settle(seen)
    expect(r.status).toBe(201)
    expect(r.headers['x-kit']).toBe('1')
    expect(seen.heads).toEqual([201])
    expect(seen.finished).toEqual({ aborted: false })
  })

  it('Expect: 100-continue: onHeaders once, final status', async () => {
    const seen = newSeen()
    const url = await serveNode(seen, async (req: IncomingMessage, res: ServerResponse) => {
      for await (const _ of req) {
      }
      res.statusCode = 202
      res.end('ok')
    })
    const r = await raw(url, {
      method: 'POST',
      headers: { expect: '100-continue', 'content-length': '2' },
      body: 'hi',
    })
    await settle(seen)
    expect(r.status).toBe(202)
    expect(r.headers['x-kit']).toBe('1')
    expect(seen.heads).toEqual([202])
  })

  it('res.end() twice: no crash, one response, finished ok', async () => {
    const seen = newSeen()
    const url = await serveNode(seen, (_req: IncomingMessage, res: ServerResponse) => {
      res.end('one')
      res.end()
    })
    const r = await raw(url)
    await settle(seen)
    expect(r.body).toBe('one')
    expect(seen.finished).toEqual({ aborted: false })
    expect(seen.heads).toEqual([200])
  })

  it('flushHeaders: head hooked, kit header present', async () => {
    const seen = newSeen()
    const url = await serveNode(seen, (_req: IncomingMessage, res: ServerResponse) => {
      res.statusCode = 200
      res.flushHeaders()
      setTimeout(() => res.end('late'), 20)
    })
    const r = await raw(url)
    await settle(seen)
    expect(r.headers['x-kit']).toBe('1')
    expect(seen.heads).toEqual([200])
    expect(r.body).toBe('late')
  })
})

function expressApp(factory: typeof express, seen: Seen) {
  const app = factory()
  app.use(toExpress(probe(seen), { onError: (e) => void seen.errors.push(e) }))
  return app
}

async function serveApp(app: express.Express): Promise<string> {
  const s = await listen(createServer(app))
  closers.push(s.close)
  return s.url
}

for (const [name, factory] of [
  ['express5', express],
  ['express4', express4 as unknown as typeof express],
] as const) {
  describe(name, () => {
    it('fresh ETag revalidation (304): kit header, onHeaders 304, finished, no body', async () => {
      const seen = newSeen()
      const app = expressApp(factory, seen)
      app.get('/', (_req, res) => {
        res.send('hello world body')
      })
      const url = await serveApp(app)
      const first = await raw(url)
      const etag = first.headers.etag as string
      expect(etag).toBeTruthy()
      const seen2 = newSeen()
      Object.assign(seen, seen2)
      const r = await raw(url, { headers: { 'if-none-match': etag } })
      await settle(seen)
      expect(r.status).toBe(304)
      expect(r.body).toBe('')
      expect(r.headers['x-kit']).toBe('1')
      expect(seen.heads).toEqual([304])
      expect(seen.status).toBe(304)
      expect(seen.finished).toEqual({ aborted: false })
    })

    it('auto HEAD for a GET route: kit header, onHeaders 200, no body', async () => {
      const seen = newSeen()
      const app = expressApp(factory, seen)
      app.get('/', (_req, res) => {
        res.json({ a: 1 })
      })
      const url = await serveApp(app)
      const r = await raw(url, { method: 'HEAD' })
      await settle(seen)
      expect(r.status).toBe(200)
      expect(r.headers['x-kit']).toBe('1')
      expect(r.headers['content-length']).toBe('7')
      expect(seen.heads).toEqual([200])
      expect(seen.finished).toEqual({ aborted: false })
    })

    it('sendStatus(304) and 204', async () => {
      const seen = newSeen()
      const app = expressApp(factory, seen)
      app.get('/304', (_req, res) => {
        res.sendStatus(304)
      })
      app.get('/204', (_req, res) => {
        res.status(204).json({ x: 1 })
      })
      const url = await serveApp(app)
      const r = await raw(url, { path: '/304' })
      await settle(seen)
      expect(r.status).toBe(304)
      expect(r.headers['x-kit']).toBe('1')
      expect(seen.heads).toEqual([304])
      expect(seen.finished).toEqual({ aborted: false })
      Object.assign(seen, newSeen(), { finished: undefined })
      const r2 = await raw(url, { path: '/204' })
      await settle(seen)
      expect(r2.status).toBe(204)
      expect(r2.body).toBe('')
      expect(r2.headers['x-kit']).toBe('1')
      expect(seen.heads).toEqual([204])
    })

    it('redirect', async () => {
      const seen = newSeen()
      const app = expressApp(factory, seen)
      app.get('/', (_req, res) => res.redirect(301, '/there'))
      const url = await serveApp(app)
      const r = await raw(url)
      await settle(seen)
      expect(r.status).toBe(301)
      expect(r.headers.location).toBe('/there')
      expect(r.headers['x-kit']).toBe('1')
      expect(seen.heads).toEqual([301])
    })

    it('sendFile / download from disk', async () => {
      const file = join(tmpdir(), `aikit-response-paths-${process.pid}-${name}.txt`)
      writeFileSync(file, 'x'.repeat(100_000))
      const seen = newSeen()
      const app = expressApp(factory, seen)
      app.get('/f', (_req, res) => res.sendFile(file))
      app.get('/d', (_req, res) => res.download(file))
      const url = await serveApp(app)
      const r = await raw(url, { path: '/f' })
      await settle(seen)
      expect(r.status).toBe(200)
      expect(r.body.length).toBe(100_000)
      expect(r.headers['x-kit']).toBe('1')
      expect(seen.heads).toEqual([200])
      expect(seen.finished).toEqual({ aborted: false })
      Object.assign(seen, newSeen(), { finished: undefined })
      const r2 = await raw(url, { path: '/d' })
      await settle(seen)
      expect(r2.body.length).toBe(100_000)
      expect(r2.headers['x-kit']).toBe('1')
      expect(r2.headers['content-disposition']).toContain('attachment')
      // sendFile 304 revalidation
      Object.assign(seen, newSeen(), { finished: undefined })
      const r3 = await raw(url, {
        path: '/f',
        headers: { 'if-none-match': r.headers.etag as string },
      })
      await settle(seen)
      expect(r3.status).toBe(304)
      expect(r3.headers['x-kit']).toBe('1')
      expect(seen.heads).toEqual([304])
      expect(seen.finished).toEqual({ aborted: false })
      // sendFile HEAD
      Object.assign(seen, newSeen(), { finished: undefined })
      const r4 = await raw(url, { path: '/f', method: 'HEAD' })
      await settle(seen)
      expect(r4.status).toBe(200)
      expect(r4.headers['x-kit']).toBe('1')
      expect(seen.finished).toEqual({ aborted: false })
    })

    it('sub-app mounted at a path with the kit on the sub-app: ctx.path is the original path', async () => {
      const seen = newSeen()
      const app = factory()
      const sub = factory()
      sub.use(toExpress(probe(seen)))
      sub.get('/x', (req, res) => res.json({ orig: req.originalUrl, url: req.url }))
      const router = factory.Router()
      router.use(toExpress(probe(seen)))
      router.get('/y', (_req, res) => res.json({}))
      app.use('/api', sub)
      app.use('/r', router)
      const url = await serveApp(app)
      const r = await raw(url, { path: '/api/x?q=1' })
      expect(r.headers['x-kit']).toBe('1')
      expect(seen.path).toBe('/api/x')
      const r2 = await raw(url, { path: '/r/y' })
      expect(r2.headers['x-kit']).toBe('1')
      expect(seen.path).toBe('/r/y')
    })

    it('route writes part of the body then errors: connection closed, finished aborted', async () => {
      const seen = newSeen()
      const app = expressApp(factory, seen)
      app.get('/', (_req, res, next) => {
        res.write('part')
        setTimeout(() => next(new Error('late')), 10)
      })
      const url = await serveApp(app)
      const r = await raw(url, {}, 2000)
      await settle(seen)
      expect(r.error).not.toBe('timeout')
      expect(r.status).toBe(200)
      expect(seen.heads).toEqual([200])
      expect(seen.finished).toEqual({ aborted: true })
    })
  })
}

describe('fastify', () => {
  async function fastifyApp(seen: Seen, routes: (app: FastifyInstance) => void, opts: object = {}) {
    const app = Fastify(opts)
    await app.register(aikitFastify, {
      use: [probe(seen)],
      onError: (e) => void seen.errors.push(e),
    })
    routes(app)
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const addr = app.server.address() as { port: number }
    return `http://127.0.0.1:${addr.port}`
  }

  it('HEAD via exposeHeadRoutes', async () => {
    const seen = newSeen()
    const url = await fastifyApp(seen, (app) => app.get('/', async () => ({ a: 1 })))
    const r = await raw(url, { method: 'HEAD' })
    await settle(seen)
    expect(r.status).toBe(200)
    expect(r.headers['x-kit']).toBe('1')
    expect(seen.heads).toEqual([200])
    expect(seen.finished).toEqual({ aborted: false })
  })

  it('framework-generated 404 / 400 schema / 415 / 413 / setNotFoundHandler carry kit headers', async () => {
    const seen = newSeen()
    const url = await fastifyApp(
      seen,
      (app) => {
        app.post(
          '/s',
          {
            schema: {
              body: { type: 'object', required: ['a'], properties: { a: { type: 'number' } } },
            },
          },
          async () => 'ok'
        )
        app.post('/b', async () => 'ok')
        app.get('/c', async (_req, reply) => reply.code(404).send())
        app.get('/r', async (_req, reply) => reply.redirect('/there', 302))
      },
      { bodyLimit: 10 }
    )
    const cases: [string, string, Record<string, string>, string | undefined, number][] = [
      ['GET', '/nope', {}, undefined, 404],
      ['POST', '/s', { 'content-type': 'application/json' }, '{"b":1}', 400],
      ['POST', '/b', { 'content-type': 'application/x-foo' }, 'abc', 415],
      ['POST', '/b', { 'content-type': 'application/json' }, '{"aaaaaaaaaaaaaaaaaaaaaa":1}', 413],
      ['POST', '/b', { 'content-type': 'application/json' }, '{bad', 400],
      ['GET', '/c', {}, undefined, 404],
      ['GET', '/r', {}, undefined, 302],
    ]
    for (const [method, path, headers, body, status] of cases) {
      Object.assign(seen, newSeen(), { finished: undefined, status: undefined })
      const r = await raw(url, { method, path, headers, body })
      await settle(seen)
      expect([path, r.status]).toEqual([path, status])
      expect([path, r.headers['x-kit']]).toEqual([path, '1'])
      expect([path, seen.heads]).toEqual([path, [status]])
      expect([path, seen.status]).toEqual([path, status])
      expect([path, seen.finished]).toEqual([path, { aborted: false }])
    }
  })

  it('reply.hijack with raw writes; reply.send(stream)', async () => {
    const { Readable } = await import('node:stream')
    const seen = newSeen()
    const url = await fastifyApp(seen, (app) => {
      app.get('/h', async (_req, reply) => {
        reply.hijack()
        reply.raw.writeHead(207, { 'content-type': 'text/plain' })
        reply.raw.end('raw')
      })
      app.get('/s', async (_req, reply) => {
        reply.header('content-type', 'text/plain')
        return reply.send(Readable.from(['a', 'b', 'c']))
      })
    })
    const r = await raw(url, { path: '/h' })
    await settle(seen)
    expect(r.status).toBe(207)
    expect(r.body).toBe('raw')
    expect(r.headers['x-kit']).toBe('1')
    expect(seen.heads).toEqual([207])
    expect(seen.status).toBe(207)
    expect(seen.finished).toEqual({ aborted: false })
    Object.assign(seen, newSeen(), { finished: undefined, status: undefined })
    const r2 = await raw(url, { path: '/s' })
    await settle(seen)
    expect(r2.body).toBe('abc')
    expect(r2.headers['x-kit']).toBe('1')
    expect(seen.finished).toEqual({ aborted: false })
  })

  it('onSend hook altering the payload; prefix-encapsulated registration', async () => {
    const seen = newSeen()
    const app = Fastify()
    await app.register(
      async (scope) => {
        await scope.register(aikitFastify, { use: [probe(seen)] })
        scope.addHook('onSend', async (_req, reply, payload) => {
          reply.header('x-onsend', '1')
          return `${payload}!`
        })
        scope.get('/x', async () => 'hi')
      },
      { prefix: '/v1' }
    )
    app.get('/out', async () => 'out')
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    const r = await raw(url, { path: '/v1/x?z=1' })
    await settle(seen)
    expect(r.body).toBe('hi!')
    expect(r.headers['x-kit']).toBe('1')
    expect(r.headers['x-onsend']).toBe('1')
    expect(seen.path).toBe('/v1/x')
    const r2 = await raw(url, { path: '/out' })
    expect(r2.headers['x-kit']).toBeUndefined()
  })
})
