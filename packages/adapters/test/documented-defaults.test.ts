/**
 * The defaults README.md's option table (and `AdapterOptions`' `@default`s in @aikit/core) gives,
 * observed through each Node adapter with no options: `maxBodyBytes` 1_048_576, `maxJsonDepth` 64,
 * the 10 000 object members of a JSON body, `trustProxy` false, `toNodeHandler`'s `handler` (404
 * `NOT_FOUND` JSON) and Fastify's `errorHandler` false; and @aikit/core's `compress()` option table
 * (`threshold` 1024, `brotliQuality` 4, `gzipLevel` 6), observed over node:http. A user tunes
 * production from these numbers.
 */
import { createServer, request, type Server } from 'node:http'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** Reads the body and answers what the route needs to see: its size, and the client IP. */
const echo: Middleware = async (ctx) => {
  const body = await ctx.json<unknown>()
  ctx.respond(200, { length: JSON.stringify(body).length, ip: ctx.ip ?? null })
}

/** A JSON string body of exactly `bytes` bytes. */
const ofBytes = (bytes: number): string => JSON.stringify('x'.repeat(bytes - 2))
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`
const withMembers = (n: number): string =>
  `{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`

const servers: ConformanceServer[] = []
const urls: Record<string, string> = {}

beforeAll(async () => {
  const node = await listen(createServer(toNodeHandler(echo)) as Server)
  const app = express()
  app.post('/', toExpress(echo))
  const ex = await listen(createServer(app) as Server)
  const fastify = Fastify()
  await fastify.register(aikitFastify, { use: [echo] })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  const address = fastify.server.address() as { port: number }
  servers.push(node, ex, { url: `http://127.0.0.1:${address.port}`, close: () => fastify.close() })
  urls.node = node.url
  urls.express = ex.url
  urls.fastify = `http://127.0.0.1:${address.port}`
})
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await res.text()
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown> }
}

describe.each(['node', 'express', 'fastify'])('%s adapter with no options', (name) => {
  it('reads a body of up to 1_048_576 bytes (maxBodyBytes) and answers 413 past it', async () => {
    const url = urls[name] as string
    expect((await post(url, ofBytes(1_048_576))).status).toBe(200)
    const over = await post(url, ofBytes(1_048_577))
    expect(over.status).toBe(413)
    expect(over.json).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } })
  })

  it('accepts JSON nested 64 deep (maxJsonDepth) and refuses 65 with 400', async () => {
    const url = urls[name] as string
    expect((await post(url, nested(64))).status).toBe(200)
    const deeper = await post(url, nested(65))
    expect(deeper.status).toBe(400)
    expect(deeper.json).toMatchObject({ error: { code: 'INVALID_REQUEST' } })
  })

  it('accepts 10 000 object members and refuses 10 001 with 400', async () => {
    const url = urls[name] as string
    expect((await post(url, withMembers(10_000))).status).toBe(200)
    expect((await post(url, withMembers(10_001))).status).toBe(400)
  })

  it('believes no X-Forwarded-For (trustProxy false)', async () => {
    const res = await post(urls[name] as string, '{}', { 'x-forwarded-for': '203.0.113.7' })
    expect(res.json.ip).toMatch(/127\.0\.0\.1$/)
  })
})

describe("ctx.json()'s limits follow the adapter's options (BodyLimits' defaults)", () => {
  it('reads what maxBodyBytes and maxJsonDepth allow when they are set', async () => {
    const server = await listen(
      createServer(toNodeHandler(echo, { maxBodyBytes: 2_000_000, maxJsonDepth: 100 })) as Server
    )
    servers.push(server)
    expect((await post(server.url, ofBytes(1_500_000))).status).toBe(200)
    expect((await post(server.url, ofBytes(2_000_001))).status).toBe(413)
    expect((await post(server.url, nested(80))).status).toBe(200)
  })
})

describe('adapter-specific defaults', () => {
  it('toNodeHandler without `handler` answers 404 NOT_FOUND JSON', async () => {
    const server = await listen(createServer(toNodeHandler()) as Server)
    servers.push(server)
    const res = await fetch(`${server.url}/anything`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } })
  })

  it("aikitFastify without `errorHandler` leaves a route's error to Fastify's handler", async () => {
    const app = Fastify()
    await app.register(aikitFastify, { use: [] })
    app.get('/boom', async () => {
      throw new Error('secret detail')
    })
    const res = await app.inject({ method: 'GET', url: '/boom' })
    expect(res.statusCode).toBe(500)
    // Fastify's own shape (it sends the message), not the kit's `{ error: { code } }`.
    expect(res.json()).toMatchObject({ statusCode: 500, message: 'secret detail' })
    await app.close()
  })
})

describe('compress() defaults', () => {
  /** `n` bytes of varied words (a fixed pseudo-random sequence): each level compresses them apart. */
  const text = (n: number): string => {
    const words = ['alpha', 'beta', 'gamma', 'delta', 'tokens', 'budget', 'cache', 'stream']
    let seed = 7
    let out = ''
    while (out.length < n) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      out += `${words[seed % words.length]}${seed % 7 === 0 ? '. ' : ' '}`
    }
    return out.slice(0, n)
  }
  let url = ''
  beforeAll(async () => {
    const server = await listen(
      createServer(
        toNodeHandler(compress(), async (ctx) => {
          ctx.respond(200, text(Number(ctx.path.slice(1))), { 'content-type': 'text/plain' })
        })
      ) as Server
    )
    servers.push(server)
    url = server.url
  })

  /** The raw (still encoded) answer to `GET /<n>`: a body of n bytes. */
  const get = (n: number, encoding: string) =>
    new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      request(`${url}/${n}`, { headers: { 'accept-encoding': encoding } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) })
        )
        res.on('error', reject)
      })
        .on('error', reject)
        .end()
    })

  it('compresses bodies of 1024 bytes and more (threshold 1024)', async () => {
    expect((await get(1023, 'gzip')).encoding).toBeUndefined()
    expect((await get(1024, 'gzip')).encoding).toBe('gzip')
  })

  it('uses Brotli quality 4 and gzip level 6 (brotliQuality, gzipLevel)', async () => {
    const body = Buffer.from(text(20_000))
    const quality4 = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })
    const quality5 = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
    expect(quality4.equals(quality5)).toBe(false) // the body tells the levels apart
    expect(gzipSync(body, { level: 6 }).equals(gzipSync(body, { level: 7 }))).toBe(false)
    expect((await get(20_000, 'br')).body.equals(quality4)).toBe(true)
    expect((await get(20_000, 'gzip')).body.equals(gzipSync(body, { level: 6 }))).toBe(true)
  })
})
