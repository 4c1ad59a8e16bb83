/**
 * compress() honours the response headers a route sets through the Context (ctx.setHeader /
 * ctx.appendHeader), not only those given to ctx.respond: a strong ETag is weakened when the body
 * is compressed; Vary: Accept-Encoding is not repeated and Vary: * is left alone;
 * Cache-Control: no-transform holds whatever Content-Encoding is set after it; and HEAD carries
 * the Vary: Accept-Encoding that GET carries (without being compressed).
 */
import { createServer, type Server } from 'node:http'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeBody, rawRequest } from './compress-raw-client.js'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** A compressible 20 KB text. */
const TEXT = 'lorem ipsum dolor sit amet, '.repeat(720)
const PLAIN = { 'content-type': 'text/plain' }

const routes: Middleware = async (ctx, next) => {
  switch (ctx.path) {
    case '/etag':
      ctx.setHeader('ETag', '"v1"')
      return ctx.respond(200, TEXT, PLAIN)
    case '/etag-and-respond-etag':
      ctx.setHeader('ETag', '"ctx"')
      return ctx.respond(200, TEXT, { ...PLAIN, etag: '"respond"' })
    case '/vary-ae':
      ctx.setHeader('Vary', 'Accept-Encoding')
      return ctx.respond(200, TEXT, PLAIN)
    case '/vary-appended':
      ctx.appendHeader('Vary', 'Origin')
      ctx.appendHeader('Vary', 'accept-encoding')
      return ctx.respond(200, TEXT, PLAIN)
    case '/vary-origin':
      ctx.setHeader('Vary', 'Origin')
      return ctx.respond(200, TEXT, PLAIN)
    case '/vary-star':
      ctx.setHeader('Vary', '*')
      return ctx.respond(200, TEXT, PLAIN)
    case '/no-transform-then-identity':
      ctx.setHeader('Cache-Control', 'no-transform')
      ctx.setHeader('Content-Encoding', 'identity')
      return ctx.respond(200, TEXT, PLAIN)
    case '/text':
      return ctx.respond(200, TEXT, PLAIN)
    default:
      return next()
  }
}

const servers: ConformanceServer[] = []
let base = ''

beforeAll(async () => {
  const node = await listen(
    createServer(
      toNodeHandler(compress(), routes, {
        handler: (_req, res) => {
          res.statusCode = 404
          res.end()
        },
      })
    ) as Server
  )
  servers.push(node)
  base = node.url
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

const GZIP = { 'accept-encoding': 'gzip' }

describe('compress() and an ETag set with ctx.setHeader', () => {
  it('weakens it when the body is compressed, keeps it strong when not', async () => {
    const gz = await rawRequest(`${base}/etag`, GZIP)
    const plain = await rawRequest(`${base}/etag`, {})
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(decodeBody(gz)).toBe(TEXT)
    expect(plain.headers['content-encoding']).toBeUndefined()
    // Two representations must not share one strong validator (RFC 9110 §8.8.3).
    expect(gz.headers.etag).toBe('W/"v1"')
    expect(plain.headers.etag).toBe('"v1"')
  })

  it("sends respond's own ETag, weakened, when both set one", async () => {
    const gz = await rawRequest(`${base}/etag-and-respond-etag`, GZIP)
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.headers.etag).toBe('W/"respond"')
  })
})

describe('compress() and a Vary set through the Context', () => {
  it('does not repeat an Accept-Encoding already there (set or appended)', async () => {
    expect((await rawRequest(`${base}/vary-ae`, GZIP)).headers.vary).toBe('Accept-Encoding')
    expect((await rawRequest(`${base}/vary-ae`, {})).headers.vary).toBe('Accept-Encoding')
    expect((await rawRequest(`${base}/vary-appended`, GZIP)).headers.vary).toBe(
      'Origin, accept-encoding'
    )
  })

  it('leaves Vary: * alone', async () => {
    const r = await rawRequest(`${base}/vary-star`, GZIP)
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(r.headers.vary).toBe('*')
  })

  it('adds Accept-Encoding to another Vary', async () => {
    const r = await rawRequest(`${base}/vary-origin`, GZIP)
    expect(r.headers.vary).toBe('Origin, Accept-Encoding')
  })
})

describe('compress() and Cache-Control: no-transform set through the Context', () => {
  it('still leaves the body alone after Content-Encoding: identity is set', async () => {
    const r = await rawRequest(`${base}/no-transform-then-identity`, GZIP)
    expect(r.headers['cache-control']).toBe('no-transform')
    // The route's own `identity` is sent as it set it; the body is not coded.
    expect(r.headers['content-encoding'] ?? 'identity').toBe('identity')
    expect(String(r.body)).toBe(TEXT)
  })
})

describe('compress() and HEAD', () => {
  it('HEAD of a ctx.respond body carries the Vary GET carries, uncompressed', async () => {
    const g = await rawRequest(`${base}/text`, GZIP)
    const h = await rawRequest(`${base}/text`, GZIP, 'HEAD')
    expect(g.headers['content-encoding']).toBe('gzip')
    expect(g.headers.vary).toBe('Accept-Encoding')
    expect(h.status).toBe(200)
    expect(h.headers.vary).toBe('Accept-Encoding')
    expect(h.headers['content-encoding']).toBeUndefined()
    expect(h.body.byteLength).toBe(0)
  })
})
