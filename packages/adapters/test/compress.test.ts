/**
 * compress() through the real adapters: node:http, Express, Fastify (servers on 127.0.0.1) and
 * Next's withAikit (called with Web Requests). The body comes from `ctx.respond` in a middleware,
 * or from the framework itself (node:http `res.end` / `res.write`, Express `res.json`, a Fastify
 * reply, a Next route's `Response`) through the adapter's `ctx.transformBody` hook; the client
 * reads raw bytes (node:http does not decode) and decodes them itself.
 */
import { once } from 'node:events'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** A ~10 KB JSON answer. */
const PAYLOAD = {
  items: Array.from({ length: 120 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    text: 'The quick brown fox jumps over the lazy dog',
  })),
}
const JSON_BYTES = Buffer.from(JSON.stringify(PAYLOAD))
/** Over `syncMaxBytes` (64 KiB): compressed through zlib's thread pool as a stream. */
const BIG_TEXT = 'lorem ipsum dolor sit amet '.repeat(8000)

interface RawResponse {
  status: number
  headers: Record<string, string | undefined>
  /** Body chunks as they arrive, undecoded. */
  body: AsyncIterable<Uint8Array>
}

type Fetch = (
  path: string,
  headers?: Record<string, string>,
  method?: string
) => Promise<RawResponse>

/** The SSE route's gate: it sends the second event only once the client has read the first. */
class SseGate {
  readonly log: string[] = []
  private release: (() => void) | undefined

  firstEventRead(): void {
    this.log.push('client read the first event')
    this.release?.()
  }

  /** Two events; between them, wait for the client (or give up after 3 s and log it). */
  async *events(): AsyncGenerator<string> {
    yield 'data: {"token":"first"}\n\n'
    await new Promise<void>((resolve) => {
      this.release = resolve
      setTimeout(resolve, 3000).unref()
    })
    this.log.push('server sends the rest')
    yield 'data: {"token":"second"}\n\n'
    yield 'data: [DONE]\n\n'
  }
}

let gate = new SseGate()

/** The app: routes written as AI Kit middleware, behind compress(). */
const routes: Middleware = async (ctx, next) => {
  switch (ctx.path) {
    case '/json':
      return ctx.respond(200, PAYLOAD)
    case '/big':
      return ctx.respond(200, BIG_TEXT, {
        'content-type': 'text/plain',
        'content-length': '216000',
      })
    case '/small':
      return ctx.respond(200, { ok: true })
    case '/png':
      return ctx.respond(200, new Uint8Array(4096), { 'content-type': 'image/png' })
    case '/no-transform':
      return ctx.respond(200, PAYLOAD, { 'cache-control': 'no-transform' })
    case '/encoded':
      return ctx.respond(200, zlib.gzipSync(JSON_BYTES), {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      })
    case '/vary':
      return ctx.respond(200, PAYLOAD, { vary: 'Origin', etag: '"v1"' })
    case '/set-header-no-transform':
      ctx.setHeader('Cache-Control', 'private, no-transform')
      return ctx.respond(200, PAYLOAD)
    case '/no-content':
      return ctx.respond(204)
    case '/sse':
      return ctx.respond(200, gate.events(), {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
      })
    default:
      return next()
  }
}

const stack = [compress(), routes] as const

/** Bodies the framework routes answer with their own API (res.end, res.send, reply, Response). */
const FRAMEWORK_ANSWERS: Record<
  string,
  { status: number; headers: Record<string, string>; body?: Uint8Array }
> = {
  '/fw/small': {
    status: 200,
    headers: { 'content-type': 'application/json', 'content-length': '11' },
    body: Buffer.from('{"ok":true}'),
  },
  '/fw/png': { status: 200, headers: { 'content-type': 'image/png' }, body: new Uint8Array(4096) },
  '/fw/no-transform': {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-transform' },
    body: JSON_BYTES,
  },
  '/fw/encoded': {
    status: 200,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: zlib.gzipSync(JSON_BYTES),
  },
  '/fw/no-content': { status: 204, headers: {} },
}
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
const DRAIN_CHUNK = 'data: some streamed text that the compressor has to work through\n\n'.repeat(
  200
)
const DRAIN_CHUNKS = 40
const drainLog = { waits: 0, drains: 0 }

/** A node:http route (also mounted in Express): res.end, res.write per SSE event, 'drain'. */
async function nodeRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = req.url ?? '/'
  const answer = FRAMEWORK_ANSWERS[path]
  if (answer !== undefined) {
    res.statusCode = answer.status
    for (const [k, v] of Object.entries(answer.headers)) res.setHeader(k, v)
    res.end(answer.body)
  } else if (path === '/fw/json') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(PAYLOAD))
  } else if (path === '/fw/sse') {
    res.writeHead(200, SSE_HEADERS)
    for await (const event of gate.events()) res.write(event)
    res.end()
  } else if (path === '/fw/drain') {
    res.setHeader('content-type', 'text/plain')
    for (let i = 0; i < DRAIN_CHUNKS; i++) {
      if (!res.write(DRAIN_CHUNK)) {
        drainLog.waits++
        await once(res, 'drain')
        drainLog.drains++
      }
    }
    res.end()
  } else {
    res.statusCode = 404
    res.end()
  }
}

/** The same answers from an App Router route handler. */
function nextRoute(req: Request): Response {
  const path = new URL(req.url).pathname
  const answer = FRAMEWORK_ANSWERS[path]
  if (answer !== undefined) {
    return new Response((answer.body ?? null) as BodyInit | null, answer)
  }
  if (path === '/fw/json') return Response.json(PAYLOAD)
  if (path === '/fw/sse') {
    const events = gate.events()
    const encoder = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const r = await events.next()
        if (r.done) controller.close()
        else controller.enqueue(encoder.encode(r.value))
      },
    })
    return new Response(body, { headers: SSE_HEADERS })
  }
  return Response.json({ from: 'route handler' })
}

function nodeFetch(base: string): Fetch {
  return (path, headers = {}, method = 'GET') =>
    new Promise((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
        const h: Record<string, string | undefined> = {}
        for (const [k, v] of Object.entries(res.headers)) h[k] = Array.isArray(v) ? v.join(', ') : v
        resolve({ status: res.statusCode ?? 0, headers: h, body: res })
      })
      req.once('error', reject)
      req.end()
    })
}

function nextFetch(): Fetch {
  const handler = withAikit(nextRoute, ...stack)
  return async (path, headers = {}, method = 'GET') => {
    const res = await handler(new Request(`http://127.0.0.1${path}`, { method, headers }), {})
    const h: Record<string, string | undefined> = {}
    res.headers.forEach((v, k) => {
      h[k] = v
    })
    const body = res.body === null ? Readable.from([]) : Readable.fromWeb(res.body as never)
    return { status: res.status, headers: h, body }
  }
}

const servers: ConformanceServer[] = []
const fastifyApps: FastifyInstance[] = []
const targets: Record<string, Fetch> = {}

beforeAll(async () => {
  const node = await listen(createServer(toNodeHandler(...stack, { handler: nodeRoute })) as Server)
  servers.push(node)
  targets.node = nodeFetch(node.url)

  const app = express()
  app.use(toExpress(...stack))
  app.get('/fw/json', (_req, res) => {
    res.json(PAYLOAD)
  })
  app.use((req, res, next) => {
    nodeRoute(req, res).catch(next)
  })
  const ex = await listen(createServer(app) as Server)
  servers.push(ex)
  targets.express = nodeFetch(ex.url)

  const fastify = Fastify()
  fastifyApps.push(fastify)
  await fastify.register(aikitFastify, { use: [...stack] })
  fastify.get('/fw/json', async () => PAYLOAD)
  fastify.get('/fw/sse', (_req, reply) => {
    reply.headers(SSE_HEADERS).send(Readable.from(gate.events()))
  })
  fastify.get('/fw/*', (req, reply) => {
    const answer = FRAMEWORK_ANSWERS[req.url]
    if (answer === undefined) return reply.code(404).send()
    return reply
      .code(answer.status)
      .headers(answer.headers)
      .send(answer.body === undefined ? undefined : Buffer.from(answer.body))
  })
  targets.fastify = nodeFetch(await fastify.listen({ port: 0, host: '127.0.0.1' }))

  targets.next = nextFetch()
})

afterAll(async () => {
  await Promise.all([...servers.map((s) => s.close()), ...fastifyApps.map((a) => a.close())])
})

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of body) parts.push(Buffer.from(chunk))
  return Buffer.concat(parts)
}

function decode(encoding: string | undefined, bytes: Buffer): Buffer {
  if (encoding === 'br') return zlib.brotliDecompressSync(bytes)
  if (encoding === 'gzip') return zlib.gunzipSync(bytes)
  if (encoding === undefined) return bytes
  throw new Error(`unexpected content-encoding ${encoding}`)
}

function decoder(encoding: string | undefined): zlib.Gunzip | zlib.BrotliDecompress | undefined {
  if (encoding === 'br') return zlib.createBrotliDecompress()
  if (encoding === 'gzip') return zlib.createGunzip()
  return undefined
}

describe.each(['node', 'express', 'fastify', 'next'])('compress() on %s', (name) => {
  const fetchRaw: Fetch = (...args) => targets[name]!(...args)

  it.each([
    ['br', 'gzip, deflate, br', 'br'],
    ['gzip', 'gzip', 'gzip'],
    ['identity', 'identity', undefined],
    ['no header', undefined, undefined],
  ])(
    'a 10 KB JSON answer for a %s client decodes to the same bytes',
    async (_label, accept, expected) => {
      const res = await fetchRaw('/json', accept === undefined ? {} : { 'accept-encoding': accept })
      const raw = await readAll(res.body)
      expect(res.status).toBe(200)
      expect(res.headers['content-encoding']).toBe(expected)
      expect(res.headers.vary).toMatch(/accept-encoding/i)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      if (res.headers['content-length'] !== undefined) {
        expect(Number(res.headers['content-length'])).toBe(raw.byteLength)
      }
      if (expected !== undefined) expect(raw.byteLength).toBeLessThan(JSON_BYTES.byteLength / 4)
      expect(decode(expected, raw).equals(JSON_BYTES)).toBe(true)
    }
  )

  it.each(['br', 'gzip'])(
    'an SSE answer (%s) delivers its first event before the stream ends',
    async (encoding) => {
      gate = new SseGate()
      const res = await fetchRaw('/sse', { 'accept-encoding': encoding })
      expect(res.headers['content-encoding']).toBe(encoding)
      expect(res.headers['content-type']).toBe('text/event-stream')
      const inflate = decoder(encoding)!
      let text = ''
      let acked = false
      inflate.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if (!acked && text.includes('"first"')) {
          acked = true
          gate.firstEventRead()
        }
      })
      const ended = new Promise((resolve, reject) => {
        inflate.once('end', resolve)
        inflate.once('error', reject)
      })
      for await (const chunk of res.body) inflate.write(chunk)
      inflate.end()
      await ended
      expect(gate.log).toEqual(['client read the first event', 'server sends the rest'])
      expect(text).toBe('data: {"token":"first"}\n\ndata: {"token":"second"}\n\ndata: [DONE]\n\n')
    }
  )

  it('compresses a body over syncMaxBytes as a stream and drops its Content-Length', async () => {
    const res = await fetchRaw('/big', { 'accept-encoding': 'br' })
    const raw = await readAll(res.body)
    expect(res.headers['content-encoding']).toBe('br')
    if (res.headers['content-length'] !== undefined) {
      expect(Number(res.headers['content-length'])).toBe(raw.byteLength)
    }
    expect(String(decode('br', raw))).toBe(BIG_TEXT)
  })

  it('leaves small bodies, images and already-encoded bodies alone', async () => {
    const accept = { 'accept-encoding': 'br, gzip' }
    const small = await fetchRaw('/small', accept)
    expect(small.headers['content-encoding']).toBeUndefined()
    expect(String(await readAll(small.body))).toBe('{"ok":true}')
    const png = await fetchRaw('/png', accept)
    expect(png.headers['content-encoding']).toBeUndefined()
    expect(png.headers.vary ?? '').not.toMatch(/accept-encoding/i)
    expect((await readAll(png.body)).byteLength).toBe(4096)
    const encoded = await fetchRaw('/encoded', accept)
    expect(encoded.headers['content-encoding']).toBe('gzip')
    expect(zlib.gunzipSync(await readAll(encoded.body)).equals(JSON_BYTES)).toBe(true)
  })

  it('honours Cache-Control: no-transform, from respond() or ctx.setHeader()', async () => {
    for (const path of ['/no-transform', '/set-header-no-transform']) {
      const res = await fetchRaw(path, { 'accept-encoding': 'gzip' })
      expect(res.headers['content-encoding']).toBeUndefined()
      expect((await readAll(res.body)).equals(JSON_BYTES)).toBe(true)
    }
  })

  it("merges into the route's Vary and weakens its strong ETag", async () => {
    const res = await fetchRaw('/vary', { 'accept-encoding': 'gzip' })
    await readAll(res.body)
    expect(res.headers.vary).toBe('Origin, Accept-Encoding')
    expect(res.headers.etag).toBe('W/"v1"')
  })

  it('leaves HEAD and 204 untouched', async () => {
    const head = await fetchRaw('/json', { 'accept-encoding': 'gzip' }, 'HEAD')
    await readAll(head.body)
    expect(head.headers['content-encoding']).toBeUndefined()
    const empty = await fetchRaw('/no-content', { 'accept-encoding': 'gzip' })
    await readAll(empty.body)
    expect(empty.status).toBe(204)
    expect(empty.headers['content-encoding']).toBeUndefined()
  })
})

describe('compress() when the client leaves mid-stream', () => {
  it('cancels the streamed source behind the compressor', async () => {
    let sourceClosed!: () => void
    const closed = new Promise<void>((resolve) => {
      sourceClosed = resolve
    })
    async function* endless(): AsyncGenerator<string> {
      try {
        for (let i = 0; ; i++) {
          yield `data: ${i}\n\n`
          await new Promise((r) => setTimeout(r, 5))
        }
      } finally {
        sourceClosed()
      }
    }
    const server = await listen(
      createServer(
        toNodeHandler(compress(), async (ctx) =>
          ctx.respond(200, endless(), { 'content-type': 'text/event-stream' })
        )
      ) as Server
    )
    servers.push(server)
    const res = await nodeFetch(server.url)('/', { 'accept-encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBe('gzip')
    const body = res.body as AsyncIterable<Uint8Array> & { destroy(): void }
    for await (const _chunk of body) break // first compressed event arrived: leave
    body.destroy()
    await closed // the generator's finally ran: the LLM call behind it would be stopped
  })
})

describe.each(['node', 'express', 'fastify', 'next'])(
  'compress() on %s, for responses the framework writes itself',
  (name) => {
    const fetchRaw: Fetch = (...args) => targets[name]!(...args)

    it.each([
      ['br', 'gzip, deflate, br', 'br'],
      ['gzip', 'gzip', 'gzip'],
      ['identity', 'identity', undefined],
    ])(
      "the route's own 10 KB JSON for a %s client decodes to the same JSON",
      async (_label, accept, expected) => {
        const res = await fetchRaw('/fw/json', { 'accept-encoding': accept })
        const raw = await readAll(res.body)
        expect(res.status).toBe(200)
        expect(res.headers['content-encoding']).toBe(expected)
        expect(res.headers.vary).toMatch(/accept-encoding/i)
        expect(res.headers['content-type']).toMatch(/^application\/json/)
        if (res.headers['content-length'] !== undefined) {
          expect(Number(res.headers['content-length'])).toBe(raw.byteLength)
        }
        if (expected !== undefined) expect(raw.byteLength).toBeLessThan(JSON_BYTES.byteLength / 4)
        expect(JSON.parse(String(decode(expected, raw)))).toEqual(PAYLOAD)
      }
    )

    it.each(['br', 'gzip'])(
      'SSE the route writes event by event (%s) delivers its first event before the stream ends',
      async (encoding) => {
        gate = new SseGate()
        const res = await fetchRaw('/fw/sse', { 'accept-encoding': encoding })
        expect(res.headers['content-encoding']).toBe(encoding)
        expect(res.headers['content-type']).toBe('text/event-stream')
        const inflate = decoder(encoding)!
        let text = ''
        let acked = false
        inflate.on('data', (chunk: Buffer) => {
          text += chunk.toString()
          if (!acked && text.includes('"first"')) {
            acked = true
            gate.firstEventRead()
          }
        })
        const ended = new Promise((resolve, reject) => {
          inflate.once('end', resolve)
          inflate.once('error', reject)
        })
        for await (const chunk of res.body) inflate.write(chunk)
        inflate.end()
        await ended
        expect(gate.log).toEqual(['client read the first event', 'server sends the rest'])
        expect(text).toBe('data: {"token":"first"}\n\ndata: {"token":"second"}\n\ndata: [DONE]\n\n')
      }
    )

    it('leaves small bodies, images, no-transform and already-encoded bodies alone', async () => {
      const accept = { 'accept-encoding': 'br, gzip' }
      const small = await fetchRaw('/fw/small', accept)
      expect(small.headers['content-encoding']).toBeUndefined()
      expect(String(await readAll(small.body))).toBe('{"ok":true}')
      const png = await fetchRaw('/fw/png', accept)
      expect(png.headers['content-encoding']).toBeUndefined()
      expect(png.headers.vary ?? '').not.toMatch(/accept-encoding/i)
      expect((await readAll(png.body)).byteLength).toBe(4096)
      const noTransform = await fetchRaw('/fw/no-transform', accept)
      expect(noTransform.headers['content-encoding']).toBeUndefined()
      expect((await readAll(noTransform.body)).equals(JSON_BYTES)).toBe(true)
      const encoded = await fetchRaw('/fw/encoded', accept)
      expect(encoded.headers['content-encoding']).toBe('gzip')
      expect(zlib.gunzipSync(await readAll(encoded.body)).equals(JSON_BYTES)).toBe(true)
    })

    it('leaves HEAD and 204 untouched (the HEAD carries the Vary the GET carries)', async () => {
      const head = await fetchRaw('/fw/json', { 'accept-encoding': 'gzip' }, 'HEAD')
      expect((await readAll(head.body)).byteLength).toBe(0)
      expect(head.headers['content-encoding']).toBeUndefined()
      expect(head.headers.vary).toMatch(/accept-encoding/i)
      const empty = await fetchRaw('/fw/no-content', { 'accept-encoding': 'gzip' })
      await readAll(empty.body)
      expect(empty.status).toBe(204)
      expect(empty.headers['content-encoding']).toBeUndefined()
    })
  }
)

describe('compress() and backpressure on a route that writes with res.write', () => {
  it("a route that waits for 'drain' gets it, and the whole body decodes", async () => {
    const res = await targets.node!('/fw/drain', { 'accept-encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-length']).toBeUndefined()
    const text = String(zlib.gunzipSync(await readAll(res.body)))
    expect(text).toBe(DRAIN_CHUNK.repeat(DRAIN_CHUNKS))
    // write() returned false while the compressor was busy, and 'drain' followed each time.
    expect(drainLog.waits).toBeGreaterThan(0)
    expect(drainLog.drains).toBe(drainLog.waits)
  })
})

describe('compress() around another body transform', () => {
  /** An inner transform (as cacheResponse() registers): upper-cases the body it sees. */
  const shout: Middleware = async (ctx, next) => {
    ctx.transformBody?.(() => {
      const up = (chunk?: Uint8Array) =>
        Buffer.from(chunk === undefined ? '' : Buffer.from(chunk).toString().toUpperCase())
      return { write: up, end: up, abort: () => undefined }
    })
    await next()
  }
  const body = JSON.stringify({ text: 'quiet words '.repeat(200) })

  it.each(['node', 'next'])(
    'on %s the inner transform runs first, then compression',
    async (name) => {
      let fetchRaw: Fetch
      if (name === 'next') {
        const handler = withAikit(
          () => new Response(body, { headers: { 'content-type': 'application/json' } }),
          compress(),
          shout
        )
        fetchRaw = async (path, headers = {}) => {
          const res = await handler(new Request(`http://127.0.0.1${path}`, { headers }), {})
          const h: Record<string, string | undefined> = {}
          res.headers.forEach((v, k) => {
            h[k] = v
          })
          return { status: res.status, headers: h, body: Readable.fromWeb(res.body as never) }
        }
      } else {
        const server = await listen(
          createServer(
            toNodeHandler(compress(), shout, {
              handler: (_req, res) => {
                res.setHeader('content-type', 'application/json')
                res.end(body)
              },
            })
          ) as Server
        )
        servers.push(server)
        fetchRaw = nodeFetch(server.url)
      }
      const res = await fetchRaw('/', { 'accept-encoding': 'gzip' })
      expect(res.headers['content-encoding']).toBe('gzip')
      expect(decode('gzip', await readAll(res.body)).toString()).toBe(body.toUpperCase())
    }
  )
})
