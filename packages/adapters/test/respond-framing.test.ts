/**
 * The framing of `respond` bodies. The adapter frames the body itself (Content-Length for text,
 * bytes and JSON; chunking for a stream without a length), so the connection-specific headers
 * (RFC 9110 §7.6.1) given to `respond` are dropped, `Connection: close` excepted. Headers copied
 * from an upstream fetch Response list `Transfer-Encoding: chunked`: sent next to the kit's
 * Content-Length, the body was framed twice (RFC 9112 §6.2), which a proxy in front may read the
 * other way (response splitting).
 */
import type { Middleware } from '@aikit/core'
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
        expect(body).toBe('1\r\na\r\n1\r\nb\r\n0\r\n\r\n')
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
