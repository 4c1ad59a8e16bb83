/**
 * compress() through the real adapters: node:http, Express, Fastify (servers on 127.0.0.1) and
 * Next's withAikit (called with Web Requests). The body comes from `ctx.respond` in a middleware;
 * the client reads raw bytes (node:http does not decode) and decodes them itself.
 */
import { createServer, request as httpRequest, type Server } from 'node:http'
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
  const handler = withAikit(() => Response.json({ from: 'route handler' }), ...stack)
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
  const node = await listen(createServer(toNodeHandler(...stack)) as Server)
  servers.push(node)
  targets.node = nodeFetch(node.url)

  const app = express()
  app.use(toExpress(...stack))
  app.get('/framework-route', (_req, res) => {
    res.json(PAYLOAD)
  })
  const ex = await listen(createServer(app) as Server)
  servers.push(ex)
  targets.express = nodeFetch(ex.url)

  const fastify = Fastify()
  fastifyApps.push(fastify)
  await fastify.register(aikitFastify, { use: [...stack] })
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

describe('compress() and responses the framework writes itself', () => {
  it('Express res.json is not compressed: it never goes through ctx.respond', async () => {
    const res = await targets.express!('/framework-route', { 'accept-encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBeUndefined()
    expect((await readAll(res.body)).equals(JSON_BYTES)).toBe(true)
  })

  it("a Next route handler's own Response is not compressed either", async () => {
    const res = await targets.next!('/anything', { 'accept-encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(JSON.parse(String(await readAll(res.body)))).toEqual({ from: 'route handler' })
  })
})
