/**
 * The framing of `respond` bodies. The adapter frames the body itself (Content-Length for text,
 * bytes and JSON; chunking for a stream without a length), so the connection-specific headers
 * (RFC 9110 §7.6.1) given to `respond` are dropped, `Connection: close` excepted. Headers copied
 * from an upstream fetch Response list `Transfer-Encoding: chunked`: sent next to the kit's
 * Content-Length, the body was framed twice (RFC 9112 §6.2), which a proxy in front may read the
 * other way (response splitting).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { AikitError, Middleware } from '@aikit/core'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'
import { exchange, NODE_ADAPTERS } from './fixtures/node-adapters.js'

/** The status line and header lines (lower-cased) of the first response in `raw`, and its body. */
function parse(raw: string): { status: string; lines: string[]; body: string } {
  const end = raw.indexOf('\r\n\r\n')
  const [status = '', ...lines] = raw.slice(0, end).split('\r\n')
  return { status, lines: lines.map((l) => l.toLowerCase()), body: raw.slice(end + 4) }
}

function named(lines: string[], name: string): string[] {
  return lines.filter((l) => l.startsWith(`${name}:`))
}

const GET = 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

describe('respond() headers that describe the connection or the framing', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: a text body carries its Content-Length and no Transfer-Encoding given to respond`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        ctx.respond(200, 'hello', {
          'content-type': 'text/plain',
          'Transfer-Encoding': 'chunked',
        })
      }
      const server = await start([proxy])
      try {
        const { status, lines, body } = parse(await exchange(server.port, GET))
        expect(status).toMatch(/^HTTP\/1\.1 200 /)
        expect(named(lines, 'transfer-encoding')).toEqual([])
        expect(named(lines, 'content-length')).toEqual(['content-length: 5'])
        expect(body).toBe('hello')
      } finally {
        await server.close()
      }
    })

    it(`${name}: drops Keep-Alive, Upgrade, Proxy-Connection, TE and the fields Connection names`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        ctx.respond(200, 'hello', {
          'content-type': 'text/plain',
          connection: 'keep-alive, X-Hop',
          'keep-alive': 'timeout=600',
          upgrade: 'h2c',
          'proxy-connection': 'keep-alive',
          te: 'trailers',
          'x-hop': 'upstream only',
          'x-end-to-end': 'kept',
        })
      }
      const server = await start([proxy])
      try {
        const { lines, body } = parse(await exchange(server.port, GET))
        for (const header of ['keep-alive', 'upgrade', 'proxy-connection', 'te', 'x-hop']) {
          expect(named(lines, header)).toEqual([])
        }
        expect(named(lines, 'x-end-to-end')).toEqual(['x-end-to-end: kept'])
        // The server's own Connection header (the client asked to close) is the only one.
        expect(named(lines, 'connection')).toEqual(['connection: close'])
        expect(body).toBe('hello')
      } finally {
        await server.close()
      }
    })

    it(`${name}: keeps Connection: close, and the server closes the connection after the answer`, async () => {
      const closing: Middleware = async function closing(ctx) {
        ctx.respond(503, 'bye', { Connection: 'Close' })
      }
      const server = await start([closing])
      try {
        // A keep-alive request with a second one pipelined behind it: only the first is answered.
        const raw = await exchange(
          server.port,
          'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'
        )
        const { status, lines } = parse(raw)
        expect(status).toMatch(/^HTTP\/1\.1 503 /)
        expect(named(lines, 'connection')).toEqual(['connection: close'])
        expect(raw.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1)
      } finally {
        await server.close()
      }
    })

    it(`${name}: a stream given Transfer-Encoding is chunked once`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        ctx.respond(
          200,
          (async function* () {
            yield 'a'
            yield 'b'
          })(),
          { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }
        )
      }
      const server = await start([proxy])
      try {
        const { lines, body } = parse(await exchange(server.port, GET))
        expect(named(lines, 'transfer-encoding')).toEqual(['transfer-encoding: chunked'])
        expect(named(lines, 'content-length')).toEqual([])
        // Chunked once: the chunks decode to the stream's text (twice chunked, they would decode
        // to chunk framing). Where the chunks split is Node's choice (Node 24 may join the two).
        expect(dechunk(body)).toBe('ab')
      } finally {
        await server.close()
      }
    })
  }

  it('withAikit: the Response has the Content-Length of its bytes and no connection-specific header', async () => {
    const proxy: Middleware = async function proxy(ctx) {
      ctx.respond(200, 'hello', {
        'content-type': 'text/plain',
        'transfer-encoding': 'chunked',
        'content-length': '999',
        connection: 'keep-alive',
        'keep-alive': 'timeout=600',
        upgrade: 'h2c',
      })
    }
    const route = withAikit(async () => new Response('route'), proxy)
    const res = await route(new Request('http://127.0.0.1:3000/x'), {})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('5')
    for (const header of ['transfer-encoding', 'connection', 'keep-alive', 'upgrade']) {
      expect(res.headers.get(header)).toBeNull()
    }
    expect(await res.text()).toBe('hello')
  })
})

/**
 * On a keep-alive connection the client takes exactly the declared Content-Length as the body and
 * the bytes after it as the next response: a body of another length desynchronises the responses
 * on the connection (response splitting). Two pipelined requests on one connection (the second
 * asks to close); the first response is framed as a client frames it (RFC 9112 §6.3) and what
 * follows must be the second response, or nothing (the server closed a broken response instead).
 */
const TWO_REQUESTS =
  'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

/** The first response of `raw` framed as a client frames it, and the bytes after it. */
function frameFirst(raw: string): { status: number; lines: string[]; body: string; rest: string } {
  const end = raw.indexOf('\r\n\r\n')
  if (end === -1) return { status: 0, lines: [], body: '', rest: raw }
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n')
  const lower = lines.map((l) => l.toLowerCase())
  const status = Number(statusLine.split(' ')[1])
  const after = raw.slice(end + 4)
  if (status === 204 || status === 304) return { status, lines: lower, body: '', rest: after }
  const cl = lower.find((h) => h.startsWith('content-length:'))
  if (cl !== undefined) {
    const n = Number(cl.slice('content-length:'.length).trim())
    return { status, lines: lower, body: after.slice(0, n), rest: after.slice(n) }
  }
  if (lower.some((h) => h.startsWith('transfer-encoding:') && h.includes('chunked'))) {
    let at = 0
    let body = ''
    for (;;) {
      const lineEnd = after.indexOf('\r\n', at)
      if (lineEnd === -1) return { status, lines: lower, body, rest: '' }
      const size = Number.parseInt(after.slice(at, lineEnd), 16)
      at = lineEnd + 2
      if (size === 0) return { status, lines: lower, body, rest: after.slice(at + 2) }
      body += after.slice(at, at + size)
      at += size + 2
    }
  }
  return { status, lines: lower, body: after, rest: '' }
}

/** What follows the first response is the next response, or nothing at all. */
function expectNextResponseOrNothing(rest: string): void {
  if (rest !== '') expect(rest.slice(0, 9)).toBe('HTTP/1.1 ')
}

async function* helloWorld(): AsyncGenerator<string> {
  yield 'hello'
  yield ' world'
}

describe('a stream given to respond() with a Content-Length (keep-alive)', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: a stream of the declared length is sent whole and the connection kept`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '11' })
        else ctx.respond(200, 'second')
      }
      const server = await start([proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        expect(named(first.lines, 'content-length')).toEqual(['content-length: 11'])
        expect(first.body).toBe('hello world')
        const second = frameFirst(first.rest)
        expect(second.status).toBe(200)
        expect(second.body).toBe('second')
      } finally {
        await server.close()
      }
    })

    // A proxied upstream's Content-Length is the size of its ENCODED body; fetch() hands on the
    // decoded stream, which runs past it.
    it(`${name}: a stream longer than its Content-Length does not spill into the next response`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '3' })
        else ctx.respond(200, 'second')
      }
      const server = await start([proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        expect(first.status).toBe(200)
        expectNextResponseOrNothing(first.rest)
      } finally {
        await server.close()
      }
    })

    it(`${name}: a stream shorter than its Content-Length does not swallow the next response`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '20' })
        else ctx.respond(200, 'second')
      }
      const server = await start([proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        // A complete 20-byte body cannot be made of "hello world" + the next response's head.
        expect(first.body).not.toContain('HTTP/1.1')
        expectNextResponseOrNothing(first.rest)
      } finally {
        await server.close()
      }
    })
  }

  it('a Content-Length mismatch is reported to onError and the source released', async () => {
    const reported: unknown[] = []
    let released = 0
    const source = (): AsyncGenerator<string> =>
      (async function* () {
        try {
          yield 'hello'
          yield ' world'
          yield '!'
        } finally {
          released++
        }
      })()
    const proxy: Middleware = async function proxy(ctx) {
      const length = ctx.path === '/long' ? '3' : '20'
      ctx.respond(200, source(), { 'content-length': length })
    }
    const server = createServer(toNodeHandler(proxy, { onError: (e) => reported.push(e) }))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    try {
      for (const path of ['/long', '/short']) {
        const raw = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
        expect(raw.startsWith('HTTP/1.1 200 ')).toBe(true)
      }
      await expect.poll(() => reported.length, { timeout: 10_000 }).toBe(2)
      expect(reported.map((e) => (e as AikitError).code)).toEqual([
        'CONTENT_LENGTH_MISMATCH',
        'CONTENT_LENGTH_MISMATCH',
      ])
      await expect.poll(() => released, { timeout: 10_000 }).toBe(2)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

/** A body transform that hands every byte on unchanged and leaves the head alone. */
const passThrough: Middleware = async function passThrough(ctx, next) {
  ctx.transformBody?.(() => ({
    write: (chunk) => chunk,
    end: (last) => last ?? new Uint8Array(0),
    abort() {},
  }))
  await next()
}

describe('a stream given to respond() with a Content-Length, under a body transform that keeps it', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: a stream of the declared length is sent whole and the connection kept`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '11' })
        else ctx.respond(200, 'second')
      }
      const server = await start([passThrough, proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        expect(named(first.lines, 'content-length')).toEqual(['content-length: 11'])
        expect(first.body).toBe('hello world')
        expect(frameFirst(first.rest).body).toBe('second')
      } finally {
        await server.close()
      }
    })

    it(`${name}: a stream longer than its Content-Length does not spill into the next response`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '3' })
        else ctx.respond(200, 'second')
      }
      const server = await start([passThrough, proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        expect(first.status).toBe(200)
        expectNextResponseOrNothing(first.rest)
      } finally {
        await server.close()
      }
    })

    it(`${name}: a stream shorter than its Content-Length does not swallow the next response`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '20' })
        else ctx.respond(200, 'second')
      }
      const server = await start([passThrough, proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        expect(first.body).not.toContain('HTTP/1.1')
        expectNextResponseOrNothing(first.rest)
      } finally {
        await server.close()
      }
    })
  }

  it('node:http: the mismatch is reported to onError and the source released', async () => {
    const reported: unknown[] = []
    let released = 0
    const source = (): AsyncGenerator<string> =>
      (async function* () {
        try {
          yield 'hello'
          yield ' world'
          yield '!'
        } finally {
          released++
        }
      })()
    const proxy: Middleware = async function proxy(ctx) {
      const length = ctx.path === '/long' ? '3' : '20'
      ctx.respond(200, source(), { 'content-length': length })
    }
    const server = createServer(
      toNodeHandler(passThrough, proxy, { onError: (e) => reported.push(e) })
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    try {
      for (const path of ['/long', '/short']) {
        const raw = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
        expect(raw.startsWith('HTTP/1.1 200 ')).toBe(true)
      }
      await expect.poll(() => reported.length, { timeout: 10_000 }).toBe(2)
      expect(reported.map((e) => (e as AikitError).code)).toEqual([
        'CONTENT_LENGTH_MISMATCH',
        'CONTENT_LENGTH_MISMATCH',
      ])
      await expect.poll(() => released, { timeout: 10_000 }).toBe(2)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('withAikit: the Response never carries more or fewer bytes than it declares; the mismatch is reported', async () => {
    const reported: unknown[] = []
    const proxy: Middleware = async function proxy(ctx) {
      const length = ctx.path === '/exact' ? '11' : ctx.path === '/long' ? '3' : '20'
      ctx.respond(200, helloWorld(), { 'content-length': length })
    }
    const handler = withAikit(async () => new Response('route'), passThrough, proxy, {
      onError: (e) => reported.push(e),
    })
    const exact = await handler(new Request('http://127.0.0.1:3000/exact'), {})
    expect(exact.headers.get('content-length')).toBe('11')
    expect(await exact.text()).toBe('hello world')
    for (const path of ['/long', '/short']) {
      const res = await handler(new Request(`http://127.0.0.1:3000${path}`), {})
      expect(res.headers.get('content-length')).toBe(path === '/long' ? '3' : '20')
      await expect(res.text()).rejects.toMatchObject({ code: 'CONTENT_LENGTH_MISMATCH' })
    }
    expect(reported.map((e) => (e as AikitError).code)).toEqual([
      'CONTENT_LENGTH_MISMATCH',
      'CONTENT_LENGTH_MISMATCH',
    ])
  })
})

describe('an empty respond() body given a Content-Length', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: is framed as empty (Content-Length: 0) and the next response follows`, async () => {
      const proxy: Middleware = async function proxy(ctx) {
        if (ctx.path === '/a') ctx.respond(200, undefined, { 'content-length': '5' })
        else ctx.respond(200, 'second')
      }
      const server = await start([proxy])
      try {
        const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
        expect(first.status).toBe(200)
        expect(named(first.lines, 'content-length')).toEqual(['content-length: 0'])
        expect(first.body).toBe('')
        expect(frameFirst(first.rest).body).toBe('second')
      } finally {
        await server.close()
      }
    })

    it(`${name}: a 205 is framed as empty too`, async () => {
      const reset: Middleware = async function reset(ctx) {
        ctx.respond(205, undefined, { 'content-length': '5' })
      }
      const server = await start([reset])
      try {
        const { status, lines } = parse(await exchange(server.port, GET))
        expect(status).toMatch(/^HTTP\/1\.1 205 /)
        expect(named(lines, 'content-length')).toEqual(['content-length: 0'])
      } finally {
        await server.close()
      }
    })
  }

  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: keeps a HEAD response's and a 304's length (the GET's, the representation's)`, async () => {
      const meta: Middleware = async function meta(ctx) {
        ctx.respond(ctx.path === '/nm' ? 304 : 200, undefined, { 'content-length': '5' })
      }
      const server = await start([meta])
      try {
        const head = parse(
          await exchange(server.port, 'HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        )
        expect(named(head.lines, 'content-length')).toEqual(['content-length: 5'])
        const notModified = parse(
          await exchange(server.port, 'GET /nm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        )
        expect(notModified.status).toMatch(/^HTTP\/1\.1 304 /)
        expect(named(notModified.lines, 'content-length')).toEqual(['content-length: 5'])
      } finally {
        await server.close()
      }
    })
  }

  // NODE_ADAPTERS' Fastify app routes with `app.all`: a GET route gets Fastify's automatic HEAD
  // route, whose onSend hook sets `content-length: 0` for an empty payload sent through reply.send.
  it("fastify (GET route, automatic HEAD): keeps a HEAD response's length", async () => {
    const app = Fastify()
    await app.register(aikitFastify, {
      use: [async (ctx) => ctx.respond(200, undefined, { 'content-length': '5' })],
    })
    app.get('/*', async () => 'route')
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const port = (app.server.address() as AddressInfo).port
      const head = parse(
        await exchange(port, 'HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      )
      expect(head.status).toMatch(/^HTTP\/1\.1 200 /)
      expect(named(head.lines, 'content-length')).toEqual(['content-length: 5'])
    } finally {
      await app.close()
    }
  })

  for (const [name, start] of NODE_ADAPTERS) {
    // No client frames a 204 by its length; cors() sends `Content-Length: 0` on its preflight 204
    // for old Safari, as expressjs/cors does.
    it(`${name}: a 204 keeps the Content-Length given (cors() preflight) and none is added`, async () => {
      const noContent: Middleware = async function noContent(ctx) {
        ctx.respond(204, undefined, ctx.path === '/cl' ? { 'content-length': '0' } : {})
      }
      const server = await start([noContent])
      try {
        const { status, lines } = parse(
          await exchange(server.port, 'GET /cl HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        )
        expect(status).toMatch(/^HTTP\/1\.1 204 /)
        expect(named(lines, 'content-length')).toEqual(['content-length: 0'])
        expect(named(parse(await exchange(server.port, GET)).lines, 'content-length')).toEqual([])
      } finally {
        await server.close()
      }
    })
  }
})

describe('framing headers set with ctx.setHeader', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    // An upstream's `Transfer-Encoding: chunked` copied with setHeader went out next to the kit's
    // Content-Length (RFC 9112 §6.2 forbids it: a proxy in front may frame it either way).
    it(`${name}: setHeader refuses Transfer-Encoding; the response has one framing header`, async () => {
      let code: string | undefined
      const copyUpstream: Middleware = async function copyUpstream(ctx) {
        try {
          ctx.setHeader('Transfer-Encoding', 'chunked')
        } catch (error) {
          code = (error as AikitError).code
        }
        ctx.respond(200, 'hello')
      }
      const server = await start([copyUpstream])
      try {
        const { status, lines, body } = parse(await exchange(server.port, GET))
        expect(code).toBe('INVALID_HEADER')
        expect(status).toMatch(/^HTTP\/1\.1 200 /)
        expect(named(lines, 'transfer-encoding')).toEqual([])
        expect(named(lines, 'content-length')).toEqual(['content-length: 5'])
        expect(body).toBe('hello')
      } finally {
        await server.close()
      }
    })
  }
})

describe('a stream given to respond() with a status that carries no content', () => {
  for (const status of [204, 205, 304]) {
    it(`node:http: respond(${status}, stream) sends no body and cancels the stream`, async () => {
      let cancelled = false
      const noContent: Middleware = async function noContent(ctx) {
        const upstream = new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(new TextEncoder().encode('data'))
          },
          cancel() {
            cancelled = true
          },
        })
        ctx.respond(status, upstream)
      }
      const server = createServer(toNodeHandler(noContent))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const raw = await exchange((server.address() as AddressInfo).port, GET)
        const first = frameFirst(raw)
        expect(first.status).toBe(status)
        expect(first.body).toBe('')
        await expect.poll(() => cancelled, { timeout: 10_000 }).toBe(true)
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  }
})

describe('withAikit (the Web path): respond() framing', () => {
  const route = async (): Promise<Response> => new Response('route')

  it('an empty body is framed as empty: Content-Length 0; a 204 and HEAD keep the one given', async () => {
    const meta: Middleware = async function meta(ctx) {
      const length = ctx.path === '/nc' ? '0' : '5'
      ctx.respond(ctx.path === '/nc' ? 204 : 200, undefined, { 'content-length': length })
    }
    const handler = withAikit(route, meta)
    const empty = await handler(new Request('http://127.0.0.1:3000/x'), {})
    expect(empty.headers.get('content-length')).toBe('0')
    const noContent = await handler(new Request('http://127.0.0.1:3000/nc'), {})
    expect(noContent.status).toBe(204)
    expect(noContent.headers.get('content-length')).toBe('0')
    const head = await handler(new Request('http://127.0.0.1:3000/x', { method: 'HEAD' }), {})
    expect(head.headers.get('content-length')).toBe('5')
  })

  it('a stream keeps its Content-Length and is held to it; a mismatch errors the body and is reported', async () => {
    const reported: unknown[] = []
    const proxy: Middleware = async function proxy(ctx) {
      const length = ctx.path === '/exact' ? '11' : ctx.path === '/long' ? '3' : '20'
      ctx.respond(200, helloWorld(), { 'content-length': length })
    }
    const handler = withAikit(route, proxy, { onError: (e) => reported.push(e) })
    const exact = await handler(new Request('http://127.0.0.1:3000/exact'), {})
    expect(exact.headers.get('content-length')).toBe('11')
    expect(await exact.text()).toBe('hello world')
    for (const path of ['/long', '/short']) {
      const res = await handler(new Request(`http://127.0.0.1:3000${path}`), {})
      await expect(res.text()).rejects.toMatchObject({ code: 'CONTENT_LENGTH_MISMATCH' })
    }
    expect(reported.map((e) => (e as AikitError).code)).toEqual([
      'CONTENT_LENGTH_MISMATCH',
      'CONTENT_LENGTH_MISMATCH',
    ])
  })

  // Next aborts `request.signal` when the client leaves, then cancels the body it was piping; a
  // route's stream that follows ctx.signal (an LLM stream) ends then, short of its length. The
  // Node adapters report nothing in that case: the client left, nothing was misframed.
  for (const [label, chain] of [
    ['', [] as Middleware[]],
    [' (under a pass-through body transform)', [passThrough]],
  ] as const) {
    it(`a stream with a Content-Length that ends because the client left is not reported${label}`, async () => {
      const reported: unknown[] = []
      const log: string[] = []
      const answer = (signal: AbortSignal): AsyncGenerator<string> =>
        (async function* () {
          yield 'hello'
          await new Promise<void>((resolve) => {
            if (signal.aborted) resolve()
            signal.addEventListener('abort', () => resolve(), { once: true })
          })
          log.push('ended')
        })()
      const llm: Middleware = async function llm(ctx) {
        ctx.respond(200, answer(ctx.signal), {
          'content-type': 'text/plain',
          'content-length': '100',
        })
      }
      const handler = withAikit(route, ...chain, llm, {
        onError: (error: unknown) => reported.push(error),
      })
      const client = new AbortController()
      const res = await handler(
        new Request('http://127.0.0.1:3000/chat', { signal: client.signal }),
        {}
      )
      const reader = res.body!.getReader()
      const first = await reader.read()
      expect(new TextDecoder().decode(first.value)).toBe('hello')
      // The next chunk is being pulled when the client leaves.
      const pending = reader.read().catch(() => undefined)
      client.abort()
      await pending
      await reader.cancel().catch(() => undefined)
      await expect.poll(() => log, { timeout: 10_000 }).toEqual(['ended'])
      // Whatever settles after the end was read has run by now.
      await new Promise((r) => setTimeout(r, 20))
      expect(reported).toEqual([])
    })
  }

  it('setHeader refuses Transfer-Encoding', async () => {
    let code: string | undefined
    const copyUpstream: Middleware = async function copyUpstream(ctx) {
      try {
        ctx.setHeader('Transfer-Encoding', 'chunked')
      } catch (error) {
        code = (error as AikitError).code
      }
      ctx.respond(200, 'hello')
    }
    const res = await withAikit(route, copyUpstream)(new Request('http://127.0.0.1:3000/x'), {})
    expect(code).toBe('INVALID_HEADER')
    expect(res.headers.get('transfer-encoding')).toBeNull()
    expect(res.headers.get('content-length')).toBe('5')
  })
})

/** The payload of a chunked body (throws when it is not well-formed chunked framing). */
function dechunk(body: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const eol = body.indexOf('\r\n', at)
    if (eol === -1) throw new Error(`not chunked: ${JSON.stringify(body)}`)
    const size = Number.parseInt(body.slice(at, eol), 16)
    if (!Number.isInteger(size)) throw new Error(`bad chunk size in ${JSON.stringify(body)}`)
    if (size === 0) {
      if (body.slice(eol) !== '\r\n\r\n') throw new Error(`bad last chunk: ${JSON.stringify(body)}`)
      return out
    }
    out += body.slice(eol + 2, eol + 2 + size)
    if (body.slice(eol + 2 + size, eol + 4 + size) !== '\r\n') {
      throw new Error(`bad chunk end in ${JSON.stringify(body)}`)
    }
    at = eol + 4 + size
  }
}
