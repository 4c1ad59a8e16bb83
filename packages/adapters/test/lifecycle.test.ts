/**
 * The response lifecycle through real node:http, Express 4/5 and Fastify servers on 127.0.0.1:
 * `await next()` resolves at the head of a streamed (SSE) response, before its last chunk; a client
 * that stops reading stops the source (backpressure); a client that leaves before the head aborts
 * `ctx.signal` while the handler is still awaiting. Event order and bounded waits, no durations.
 */
import { once } from 'node:events'
import { createServer, request as httpRequest, type ServerResponse } from 'node:http'
import { PassThrough } from 'node:stream'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Context, Middleware } from '@aikit/core'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

/** How a route writes its streamed response, in its framework's own way. */
interface RouteStream {
  /** Writes the head (200, `text/event-stream`) and the first event. */
  start(first: string): void
  /** Writes the last event and ends the response. */
  end(last: string): void
}

/** The app's own route (after every middleware called `next()`). */
type Route = (stream: RouteStream) => Promise<void>

interface Framework {
  name: string
  /** Serves `use` (the kit's middleware) in front of `route` (the app's own handler on `/`). */
  start(use: Middleware[], route: Route): Promise<string>
}

const closers: (() => Promise<unknown>)[] = []
const clients: ReturnType<typeof httpRequest>[] = []
afterAll(async () => {
  // A client a failed test left connected would hold its server open.
  for (const req of clients) req.destroy()
  await Promise.all(closers.map((close) => close()))
})

function nodeStream(res: ServerResponse): RouteStream {
  return {
    start(first) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      res.write(first)
    },
    end(last) {
      res.end(last)
    },
  }
}

const ignore = (): void => {}

function expressFramework(name: string, factory: typeof express): Framework {
  return {
    name,
    async start(use, route) {
      const app = factory()
      app.use(toExpress(...use))
      app.get('/', (_req, res) => {
        // The late write of a client that left is not this test's concern.
        route(nodeStream(res)).catch(ignore)
      })
      const server = await listen(createServer(app))
      closers.push(server.close)
      return server.url
    },
  }
}

const frameworks: Framework[] = [
  {
    name: 'node:http',
    async start(use, route) {
      const handler = toNodeHandler(...use, {
        handler: (_req, res) => route(nodeStream(res)).catch(ignore),
      })
      const server = await listen(createServer(handler))
      closers.push(server.close)
      return server.url
    },
  },
  expressFramework('Express 5', express),
  expressFramework('Express 4', express4),
  {
    name: 'Fastify',
    async start(use, route) {
      const app = Fastify()
      closers.push(() => app.close())
      await app.register(aikitFastify, { use })
      app.get('/', async (_request, reply) => {
        // Fastify's own way to stream: reply.send(stream).
        const body = new PassThrough()
        await route({
          start(first) {
            reply.header('content-type', 'text/event-stream').header('cache-control', 'no-store')
            void reply.send(body)
            body.write(first)
          },
          end(last) {
            body.end(last)
          },
        }).catch(ignore)
        return reply
      })
      return app.listen({ port: 0, host: '127.0.0.1' })
    },
  },
]

/** A promise the test resolves by hand. */
function gate(): { wait: Promise<void>; open(): void } {
  let open = ignore
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

/** A node:http client request to `url` (no keep-alive), for pausing and leaving at will. */
function connect(url: string): ReturnType<typeof httpRequest> {
  const { hostname, port } = new URL(url)
  const req = httpRequest({ host: hostname, port, path: '/', agent: false })
  req.on('error', ignore)
  req.end()
  clients.push(req)
  return req
}

/** Waits (bounded) until `read()` stops changing, and returns its value. */
async function whenSteady(read: () => number): Promise<number> {
  let last = -1
  let steady = 0
  for (let i = 0; i < 500 && steady < 5; i++) {
    await new Promise((r) => setTimeout(r, 20))
    const now = read()
    steady = now === last ? steady + 1 : 0
    last = now
  }
  return last
}

const sse = (n: number): string => `data: ${n}\n\n`

for (const framework of frameworks) {
  describe(`lifecycle on ${framework.name}`, () => {
    /** The outer middleware: records when next() resolves and when the response finished. */
    function recorder(events: string[], seen: { ctx?: Context }): Middleware {
      return async function recorder(ctx, next) {
        seen.ctx = ctx
        ctx.setHeader('x-mw', 'yes')
        void ctx.finished.then((f) => events.push(`finished aborted=${f.aborted}`))
        await next()
        events.push(`next resolved status=${ctx.status}`)
      }
    }

    async function streamedResponse(
      url: string,
      events: string[],
      release: () => void
    ): Promise<void> {
      const res = await fetch(url)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-mw')).toBe('yes')
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const decoder = new TextDecoder()
      let text = decoder.decode((await reader.read()).value, { stream: true })
      expect(text).toBe(sse(1))
      // The head and the first event are out and the source is held back: next() has resolved.
      await expect.poll(() => events, { timeout: 10_000 }).toContain('next resolved status=200')
      expect(events).toEqual(['next resolved status=200'])
      release()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      expect(text).toBe(sse(1) + sse(2))
      await expect.poll(() => events.length, { timeout: 10_000 }).toBe(3)
      expect(events).toEqual(['next resolved status=200', 'last chunk', 'finished aborted=false'])
    }

    it('next() resolves at the head of a streamed route response, before its last chunk', async () => {
      const events: string[] = []
      const held = gate()
      const url = await framework.start([recorder(events, {})], async (stream) => {
        stream.start(sse(1))
        await held.wait
        events.push('last chunk')
        stream.end(sse(2))
      })
      await streamedResponse(url, events, held.open)
    })

    it('next() resolves at the head of a stream a middleware responds with', async () => {
      const events: string[] = []
      const held = gate()
      const streamer: Middleware = async function streamer(ctx) {
        async function* source(): AsyncGenerator<string> {
          yield sse(1)
          await held.wait
          events.push('last chunk')
          yield sse(2)
        }
        ctx.respond(200, source(), { 'content-type': 'text/event-stream' })
      }
      const url = await framework.start([recorder(events, {}), streamer], async () => {
        throw new Error('the route is not reached')
      })
      await streamedResponse(url, events, held.open)
    })

    it('keeps backpressure: a client that stops reading stops the source', async () => {
      let produced = 0
      let stopped = false
      const events: string[] = []
      const seen: { ctx?: Context } = {}
      const chunk = new Uint8Array(64 * 1024)
      const streamer: Middleware = async function streamer(ctx) {
        async function* source(): AsyncGenerator<Uint8Array> {
          try {
            for (let i = 0; i < 2000; i++) {
              produced++
              yield chunk
            }
          } finally {
            stopped = true
          }
        }
        ctx.respond(200, source())
      }
      const url = await framework.start([recorder(events, seen), streamer], async () => {
        throw new Error('the route is not reached')
      })
      const req = connect(url)
      const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage]
      res.pause() // read nothing
      // 2000 chunks is 128 MiB; without backpressure the source would run to the end.
      const paused = await whenSteady(() => produced)
      expect(paused).toBeGreaterThan(0)
      expect(paused).toBeLessThan(200)
      expect(stopped).toBe(false)
      expect(seen.ctx?.signal.aborted).toBe(false)
      // Reading again resumes the source (it was held back, not broken): read a bounded amount
      // more than the source had produced, then stop reading again.
      const budget = (paused + 20) * chunk.length
      let received = 0
      res.on('data', (c: Buffer) => {
        received += c.length
        if (received >= budget) res.pause()
      })
      res.resume()
      await expect.poll(() => produced, { timeout: 10_000 }).toBeGreaterThan(paused)
      req.destroy()
      await expect.poll(() => stopped, { timeout: 10_000 }).toBe(true)
      expect(produced).toBeLessThan(2000)
      // The client left before the end: the response finished aborted.
      await expect.poll(() => events, { timeout: 10_000 }).toContain('finished aborted=true')
      expect(seen.ctx?.signal.aborted).toBe(true)
    })

    it('aborts ctx.signal while the route is still awaiting, when the client leaves before the head', async () => {
      const events: string[] = []
      const seen: { ctx?: Context } = {}
      const held = gate()
      const watcher: Middleware = async function watcher(ctx, next) {
        ctx.signal.addEventListener('abort', () => events.push('signal aborted'))
        await next()
      }
      const url = await framework.start([recorder(events, seen), watcher], async (stream) => {
        events.push('route awaiting')
        await held.wait
        events.push('route resumed')
        stream.start(sse(1))
        stream.end(sse(2))
      })
      const req = connect(url)
      await expect.poll(() => events, { timeout: 10_000 }).toContain('route awaiting')
      req.destroy()
      await expect.poll(() => events, { timeout: 10_000 }).toContain('signal aborted')
      expect(seen.ctx?.signal.aborted).toBe(true)
      // The route has not resumed: the abort reached it while it was still awaiting.
      expect(events.slice(0, 2)).toEqual(['route awaiting', 'signal aborted'])
      expect(events).not.toContain('route resumed')
      held.open()
      await expect.poll(() => events, { timeout: 10_000 }).toContain('finished aborted=true')
      expect(events).not.toContain('finished aborted=false')
    })

    it('aborts ctx.signal while a middleware is still awaiting before next(), when the client leaves', async () => {
      const events: string[] = []
      const seen: { ctx?: Context } = {}
      const held = gate()
      const slow: Middleware = async function slow(ctx, next) {
        ctx.signal.addEventListener('abort', () => events.push('signal aborted'))
        events.push('middleware awaiting')
        await held.wait
        events.push('middleware resumed')
        await next()
      }
      const url = await framework.start([recorder(events, seen), slow], async (stream) => {
        stream.start(sse(1))
        stream.end(sse(2))
      })
      const req = connect(url)
      await expect.poll(() => events, { timeout: 10_000 }).toContain('middleware awaiting')
      req.destroy()
      await expect.poll(() => events, { timeout: 10_000 }).toContain('signal aborted')
      expect(events.slice(0, 2)).toEqual(['middleware awaiting', 'signal aborted'])
      expect(seen.ctx?.signal.aborted).toBe(true)
      held.open()
      await expect.poll(() => events, { timeout: 10_000 }).toContain('finished aborted=true')
      expect(events).not.toContain('finished aborted=false')
    })
  })
}
