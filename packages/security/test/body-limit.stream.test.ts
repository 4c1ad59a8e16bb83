/**
 * bodyLimit() on every body read, through real servers on 127.0.0.1 (node:http, Express, Fastify)
 * and through withAikit on the Web path: a route reading the body itself is limited too (413),
 * compressed bodies are decoded with the DECODED size counted (a gzip bomb stops at the limit,
 * memory bounded), a stalled body is 408, and a body cut short by the client is 400, each with
 * the kit's JSON error body.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { type NodeRequestHandler, toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { rawRequest } from '@aikit/testing/raw-http'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { bodyLimit } from '../src/body-limit.js'
import { sendChunked, stall } from './body-wire.js'

const servers: Server[] = []
const apps: FastifyInstance[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.map((s) => new Promise((resolve) => s.close(resolve))),
    ...apps.map((a) => a.close()),
  ])
})

async function listen(server: Server): Promise<number> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Reads `req` to the end itself, as a route that ignores the kit would. */
async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** Counts how a raw route's own read of `req` ended. */
interface RawRoute {
  handler: NodeRequestHandler
  stats: { ok: number; failed: number }
}

function rawRoute(): RawRoute {
  const stats = { ok: 0, failed: 0 }
  const handler: NodeRequestHandler = async (req, res) => {
    let body: Buffer
    try {
      body = await readAll(req)
    } catch {
      stats.failed++
      return
    }
    stats.ok++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ length: body.length }))
  }
  return { handler, stats }
}

async function nodeServer(mw: Middleware[], handler?: NodeRequestHandler): Promise<number> {
  return listen(createServer(toNodeHandler(...mw, handler === undefined ? {} : { handler })))
}

async function expressServer(mw: Middleware, route: NodeRequestHandler): Promise<number> {
  const app = express()
  app.use(toExpress(mw))
  app.post('/', (req, res) => void route(req, res))
  return listen(createServer(app))
}

async function fastifyServer(mw: Middleware, reads: { n: number }): Promise<number> {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: [mw] })
  app.post('/', async (request) => {
    reads.n++
    return { got: request.body }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return (app.server.address() as AddressInfo).port
}

const STALL_HEAD =
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n'
const PART = `["${'a'.repeat(98)}`

function jsonCode(text: string): string {
  return (JSON.parse(text) as { error: { code: string } }).error.code
}

const echoJson: Middleware = async (ctx) => {
  ctx.respond(200, { got: await ctx.json() })
}

// ---------------------------------------------------------------------------------------------

describe('a route that reads the body itself is limited too (413)', () => {
  it('node:http: a handler reading req gets no more than the limit; the client gets 413 JSON', async () => {
    const route = rawRoute()
    const port = await nodeServer([bodyLimit({ maxBytes: 1024 })], route.handler)
    const res = await sendChunked(port, 5 * 1024 * 1024)
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1024 bytes',
        details: { limitBytes: 1024 },
      },
    })
    expect(res.connection).toBe('close')
    expect(res.sent).toBeLessThan(5 * 1024 * 1024)
    expect(route.stats.ok).toBe(0)
  })

  it('Express: a raw route reading req is stopped with 413 JSON', async () => {
    const route = rawRoute()
    const port = await expressServer(bodyLimit({ maxBytes: 1024 }), route.handler)
    const res = await sendChunked(port, 5 * 1024 * 1024)
    expect(res.status).toBe(413)
    expect(jsonCode(res.body)).toBe('PAYLOAD_TOO_LARGE')
    expect(route.stats.ok).toBe(0)
  })

  it("Fastify: its own body parser is held to the kit's limit (413 JSON, route not called)", async () => {
    const reads = { n: 0 }
    const port = await fastifyServer(bodyLimit({ maxBytes: 1024 }), reads)
    const res = await sendChunked(port, 5 * 1024 * 1024)
    expect(res.status).toBe(413)
    expect(jsonCode(res.body)).toBe('PAYLOAD_TOO_LARGE')
    expect(reads.n).toBe(0)
  })

  it('node:http: a body within the limit reaches the raw handler whole', async () => {
    const route = rawRoute()
    const port = await nodeServer([bodyLimit({ maxBytes: 1024 })], route.handler)
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(1000) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ length: 1000 })
  })

  it('Next (withAikit): the handler’s own req.text() over a 5 MB chunked body answers 413 JSON', async () => {
    let reads = 0
    let failed = 0
    const route = withAikit(
      async (req: Request) => {
        reads++
        try {
          return Response.json({ length: (await req.text()).length })
        } catch {
          failed++
          // Whatever the route answers after its read failed, the client gets the 413.
          return new Response('handled', { status: 200 })
        }
      },
      bodyLimit({ maxBytes: 1024 })
    )
    const big = new Uint8Array(5 * 1024 * 1024).fill(0x20)
    let pulled = 0
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= big.length) return c.close()
        c.enqueue(big.subarray(pulled, pulled + 65536))
        pulled += 65536
      },
    })
    const res = await route(
      new Request('http://app.test/api', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit),
      {}
    )
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1024 bytes',
        details: { limitBytes: 1024 },
      },
    })
    expect(reads).toBe(1)
    expect(failed).toBe(1)
    // Reading stopped near the limit: the 5 MB source was not drained.
    expect(pulled).toBeLessThan(1024 * 1024)
  })

  it('Next (withAikit): a body within the limit reaches the handler unchanged', async () => {
    const route = withAikit(
      async (req: Request) => Response.json({ text: await req.text() }),
      bodyLimit({ maxBytes: 1024 })
    )
    const res = await route(
      new Request('http://app.test/api', { method: 'POST', body: 'hello' }),
      {}
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ text: 'hello' })
  })
})

// ---------------------------------------------------------------------------------------------

describe('compressed bodies with decompress: true (decoded size counts)', () => {
  const value = { q: 'hello', n: [1, 2, 3] }
  const text = JSON.stringify(value)

  it.each([
    ['gzip', gzipSync(text)],
    ['deflate', deflateSync(text)],
    ['br', brotliCompressSync(text)],
    ['x-gzip', gzipSync(text)],
  ])('node:http: ctx.json() decodes %s', async (encoding, bytes) => {
    const port = await nodeServer([bodyLimit({ decompress: true }), echoJson])
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body: bytes,
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ got: value })
  })

  it('node:http: a gzip bomb (50 MB of spaces in 50 KB) stops at the limit with 413, heap bounded', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('['), Buffer.alloc(50 * 1024 * 1024, 0x20)]))
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const port = await nodeServer([bodyLimit({ maxBytes: '1mb', decompress: true }), echoJson])
    const before = process.memoryUsage()
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    })
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1048576 bytes',
        details: { limitBytes: 1_048_576 },
      },
    })
    const after = process.memoryUsage()
    const growth = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)
    expect(growth).toBeLessThan(20 * 1024 * 1024)
  })

  it('node:http: bytes that do not decode are 400 JSON', async () => {
    const port = await nodeServer([bodyLimit({ decompress: true }), echoJson])
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not gzip at all',
    })
    expect(res.status).toBe(400)
    expect(jsonCode(await res.text())).toBe('INVALID_REQUEST')
  })

  it('an unknown coding stays 415, and gzip without decompress is 415', async () => {
    const on = await nodeServer([bodyLimit({ decompress: true }), echoJson])
    const off = await nodeServer([bodyLimit(), echoJson])
    for (const [port, encoding] of [
      [on, 'compress'],
      [on, 'gzip, zstd'],
      [off, 'gzip'],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body: gzipSync(text),
      })
      expect(res.status).toBe(415)
      expect(jsonCode(await res.text())).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
  })

  it('Express: ctx.json() decodes gzip and hands the value on as req.body', async () => {
    const app = express()
    app.use(
      toExpress(bodyLimit({ decompress: true }), async (ctx, next) => {
        await ctx.json()
        await next()
      })
    )
    app.post('/', (req, res) => {
      res.json({ got: (req as { body?: unknown }).body })
    })
    const port = await listen(createServer(app))
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(text),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ got: value })
  })

  it('Fastify: ctx.json() decodes gzip and Fastify’s parser gets the same decoded value', async () => {
    let seen: unknown
    const app = Fastify({ logger: false })
    await app.register(aikitFastify, {
      use: [
        bodyLimit({ decompress: true }),
        async (ctx, next) => {
          seen = await ctx.json()
          await next()
        },
      ],
    })
    app.post('/', async (request) => ({ got: request.body, seen }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    apps.push(app)
    const res = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(text),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ got: value, seen: value })
  })

  it('Next (withAikit): the handler reads the decoded body, without Content-Encoding', async () => {
    const route = withAikit(
      async (req: Request) =>
        Response.json({ got: await req.json(), encoding: req.headers.get('content-encoding') }),
      bodyLimit({ decompress: true })
    )
    for (const [encoding, bytes] of [
      ['gzip', gzipSync(text)],
      ['deflate', deflateSync(text)],
    ] as const) {
      const res = await route(
        new Request('http://app.test/api', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': encoding },
          body: bytes,
        }),
        {}
      )
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ got: value, encoding: null })
    }
  })

  it('Next (withAikit): a gzip bomb read by the handler stops at the limit (413), heap bounded', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20))
    let failed = 0
    const route = withAikit(
      async (req: Request) => {
        try {
          return Response.json({ length: (await req.arrayBuffer()).byteLength })
        } catch (error) {
          failed++
          throw error
        }
      },
      bodyLimit({ maxBytes: '1mb', decompress: true })
    )
    const before = process.memoryUsage()
    const res = await route(
      new Request('http://app.test/api', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
        body: bomb,
      }),
      {}
    )
    expect(res.status).toBe(413)
    expect(jsonCode(await res.text())).toBe('PAYLOAD_TOO_LARGE')
    expect(failed).toBe(1)
    const after = process.memoryUsage()
    const growth = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)
    expect(growth).toBeLessThan(20 * 1024 * 1024)
  })

  it('Next (withAikit): br is decoded where DecompressionStream has brotli, else 415', async () => {
    let brotli = true
    try {
      new DecompressionStream('brotli' as CompressionFormat)
    } catch {
      brotli = false
    }
    const route = withAikit(
      async (req: Request) => Response.json({ got: await req.json() }),
      bodyLimit({ decompress: true })
    )
    const res = await route(
      new Request('http://app.test/api', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
        body: brotliCompressSync(text),
      }),
      {}
    )
    expect(res.status).toBe(brotli ? 200 : 415)
    if (!brotli) expect(jsonCode(await res.text())).toBe('UNSUPPORTED_MEDIA_TYPE')
  })
})

// ---------------------------------------------------------------------------------------------

describe('row 20: a stalled body is 408 after timeoutMs', () => {
  const limit = bodyLimit({ timeoutMs: 200 })

  it('node:http with ctx.json()', async () => {
    const port = await nodeServer([limit, echoJson])
    const res = await stall(port, STALL_HEAD, PART)
    expect(res.status).toBe(408)
    expect(res.headers).toContain('connection: close')
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'REQUEST_TIMEOUT',
        message: 'The request body did not arrive within 200 ms',
        details: { timeoutMs: 200 },
      },
    })
  })

  it('node:http with a handler reading req itself', async () => {
    const route = rawRoute()
    const port = await nodeServer([limit], route.handler)
    const res = await stall(port, STALL_HEAD, PART)
    expect(res.status).toBe(408)
    expect(jsonCode(res.body)).toBe('REQUEST_TIMEOUT')
    expect(route.stats.ok).toBe(0)
  })

  it('Express', async () => {
    const route = rawRoute()
    const port = await expressServer(limit, route.handler)
    const res = await stall(port, STALL_HEAD, PART)
    expect(res.status).toBe(408)
    expect(jsonCode(res.body)).toBe('REQUEST_TIMEOUT')
  })

  it('Fastify', async () => {
    const reads = { n: 0 }
    const port = await fastifyServer(limit, reads)
    const res = await stall(port, STALL_HEAD, PART)
    expect(res.status).toBe(408)
    expect(jsonCode(res.body)).toBe('REQUEST_TIMEOUT')
    expect(reads.n).toBe(0)
  })

  it('Next (withAikit): a body stream that stops sending is 408', async () => {
    const route = withAikit(
      async (req: Request) => Response.json({ text: await req.text() }),
      bodyLimit({ timeoutMs: 200 })
    )
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(PART))
        // …and nothing more, never closed.
      },
    })
    const res = await route(
      new Request('http://app.test/api', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit),
      {}
    )
    expect(res.status).toBe(408)
    expect(jsonCode(await res.text())).toBe('REQUEST_TIMEOUT')
  })

  it('a route that has not read yet is not a stall (its unread body is held back, not late)', async () => {
    const port = await nodeServer([limit], async (req, res) => {
      // Reads only after twice the timeout: the client sent everything long before.
      await new Promise((r) => setTimeout(r, 400))
      const body = await readAll(req)
      res.end(JSON.stringify({ length: body.length }))
    })
    // Head and body in one write: every byte is there before the route reads.
    const res = await rawRequest(
      port,
      new TextEncoder().encode(
        `POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 200000\r\n\r\n${'x'.repeat(200_000)}`
      )
    )
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body)).toEqual({ length: 200_000 })
  })
})

// ---------------------------------------------------------------------------------------------

describe('row 19: a body shorter than its Content-Length, then the client ends, is 400 JSON', () => {
  const bytes = new TextEncoder().encode(`${STALL_HEAD}${PART}`)
  const expectKit400 = (res: { status: number; headers: Record<string, string>; body: string }) => {
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'INVALID_REQUEST',
        message: 'The request body ended before it was complete',
        details: { receivedBytes: 100 },
      },
    })
  }

  it('node:http with ctx.json() and with bodyLimit', async () => {
    expectKit400(await rawRequest(await nodeServer([echoJson]), bytes))
    expectKit400(await rawRequest(await nodeServer([bodyLimit(), echoJson]), bytes))
  })

  it('node:http with a handler reading req itself', async () => {
    const route = rawRoute()
    expectKit400(await rawRequest(await nodeServer([bodyLimit()], route.handler), bytes))
    expect(route.stats.ok).toBe(0)
  })

  it('Express', async () => {
    const route = rawRoute()
    expectKit400(await rawRequest(await expressServer(bodyLimit(), route.handler), bytes))
  })

  it('Fastify', async () => {
    const reads = { n: 0 }
    expectKit400(await rawRequest(await fastifyServer(bodyLimit(), reads), bytes))
    expect(reads.n).toBe(0)
  })
})
