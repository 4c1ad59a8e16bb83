/**
 * `cacheResponse()` in the chain with a stream given to `respond()` with a Content-Length (a
 * proxied upstream's): its body transform hands the bytes on unchanged and keeps the length, and
 * the adapters hold what reaches the client to it (a stream that runs past it never spills into
 * the next response on the connection); a body that does not have its declared length is never
 * stored, so it is never replayed as a complete response.
 */
import { createServer } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import { cacheResponse, createCache } from '@aikit/cache'
import type { AikitError, Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'

/** Sends `request` on one connection and resolves with every byte received once it closes. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no close within 5 s'))
    }, 5000)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
    socket.write(request)
  })
}

/** The first response framed by its Content-Length, as a client frames it, and what follows. */
function frameFirst(raw: string): { status: number; head: string; body: string; rest: string } {
  const end = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, end)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const cl = lines.find((l) => l.toLowerCase().startsWith('content-length:'))
  const after = raw.slice(end + 4)
  const n = cl === undefined ? after.length : Number(cl.slice(15).trim())
  return {
    status: Number(statusLine.split(' ')[1]),
    head,
    body: after.slice(0, n),
    rest: after.slice(n),
  }
}

async function* helloWorld(): AsyncGenerator<string> {
  yield 'hello'
  yield ' world'
}

const TWO_REQUESTS =
  'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

async function listen(...chain: Parameters<typeof toNodeHandler>) {
  const server = createServer(toNodeHandler(...chain))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

describe('cacheResponse() and a respond() stream with a Content-Length', () => {
  it('node:http: a stream longer than its Content-Length does not spill into the next response', async () => {
    const reported: unknown[] = []
    const proxy: Middleware = async function proxy(ctx) {
      if (ctx.path === '/a') ctx.respond(200, helloWorld(), { 'content-length': '3' })
      else ctx.respond(200, 'second')
    }
    const server = await listen(cacheResponse({ cache: createCache(), shared: true }), proxy, {
      onError: (e) => reported.push(e),
    })
    try {
      const first = frameFirst(await exchange(server.port, TWO_REQUESTS))
      expect(first.status).toBe(200)
      // What follows the first response is the second response, or nothing (connection closed).
      if (first.rest !== '') expect(first.rest.slice(0, 9)).toBe('HTTP/1.1 ')
      await expect.poll(() => reported.length, { timeout: 10_000 }).toBe(1)
      expect((reported[0] as AikitError).code).toBe('CONTENT_LENGTH_MISMATCH')
    } finally {
      await server.close()
    }
  })

  it('node:http: a stream of its declared length is cached and replayed whole', async () => {
    let calls = 0
    const proxy: Middleware = async function proxy(ctx) {
      calls++
      ctx.respond(200, helloWorld(), { 'content-length': '11' })
    }
    const server = await listen(cacheResponse({ cache: createCache(), shared: true }), proxy)
    try {
      const get = 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      const miss = frameFirst(await exchange(server.port, get))
      expect(miss.body).toBe('hello world')
      expect(miss.head).toMatch(/X-Cache: MISS/i)
      // The entry is written once the body ended; the next request may race it.
      await expect
        .poll(async () => frameFirst(await exchange(server.port, get)).head, { timeout: 10_000 })
        .toMatch(/X-Cache: HIT/i)
      const before = calls
      expect(frameFirst(await exchange(server.port, get)).body).toBe('hello world')
      expect(calls).toBe(before)
    } finally {
      await server.close()
    }
  })

  it('node:http: a stream that ends short of its Content-Length is not stored', async () => {
    let calls = 0
    const proxy: Middleware = async function proxy(ctx) {
      calls++
      ctx.respond(200, helloWorld(), { 'content-length': '20' })
    }
    const server = await listen(cacheResponse({ cache: createCache(), shared: true }), proxy, {
      onError: () => {},
    })
    try {
      const get = 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      for (let i = 0; i < 3; i++) {
        const raw = await exchange(server.port, get)
        expect(raw).not.toMatch(/X-Cache: HIT/i)
      }
      expect(calls).toBe(3)
    } finally {
      await server.close()
    }
  })

  it('withAikit: the Response never carries more bytes than it declares', async () => {
    const reported: unknown[] = []
    const proxy: Middleware = async function proxy(ctx) {
      ctx.respond(200, helloWorld(), { 'content-length': '3' })
    }
    const route = withAikit(
      async () => new Response('route'),
      cacheResponse({ cache: createCache(), shared: true }),
      proxy,
      { onError: (e) => reported.push(e) }
    )
    const res = await route(
      new Request('http://127.0.0.1:3000/a', { headers: { host: '127.0.0.1:3000' } }),
      {}
    )
    expect(res.headers.get('content-length')).toBe('3')
    await expect(res.arrayBuffer()).rejects.toMatchObject({ code: 'CONTENT_LENGTH_MISMATCH' })
    expect(reported.map((e) => (e as AikitError).code)).toEqual(['CONTENT_LENGTH_MISMATCH'])
  })

  it('withAikit: a stream that ends short of its Content-Length is not stored', async () => {
    let calls = 0
    const proxy: Middleware = async function proxy(ctx) {
      calls++
      ctx.respond(200, helloWorld(), { 'content-length': '20' })
    }
    const route = withAikit(
      async () => new Response('route'),
      cacheResponse({ cache: createCache(), shared: true }),
      proxy,
      { onError: () => {} }
    )
    for (let i = 0; i < 3; i++) {
      const res = await route(
        new Request('http://127.0.0.1:3000/a', { headers: { host: '127.0.0.1:3000' } }),
        {}
      )
      expect(res.headers.get('x-cache')).toBe('MISS')
      await expect(res.arrayBuffer()).rejects.toMatchObject({ code: 'CONTENT_LENGTH_MISMATCH' })
    }
    expect(calls).toBe(3)
  })
})
