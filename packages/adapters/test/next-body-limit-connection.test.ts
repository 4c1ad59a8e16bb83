/**
 * Under withAikit, a `ctx.json()` read that stops before the end of the body (413 on a declared
 * Content-Length, 413 past the limit mid-stream) makes the answer ask to close the connection,
 * as the Node adapters do (attack table row 16): Next's server keeps a route Response's
 * `connection` header, and without it Node reads (and discards) the rest of the body, up to
 * 10 GiB, to reuse the connection.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { BODY_POLICY } from '@aikit/core/adapter'
import { rawRequest } from '@aikit/testing/raw-http'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'

const URL_BASE = 'http://127.0.0.1:3000'

const echo: Middleware = async function echo(ctx) {
  ctx.respond(200, { echo: await ctx.json() })
}

/** An endless request body counting its pulls. */
function endlessBody(): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(1024).fill(32))
      },
    },
    { highWaterMark: 0 }
  )
  return { body, pulled: () => pulled }
}

function post(body: ReadableStream<Uint8Array>, headers: Record<string, string>): Request {
  return new Request(`${URL_BASE}/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    duplex: 'half',
  } as RequestInit)
}

describe('withAikit: a body read stopped short closes the connection', () => {
  it('a 413 on a declared Content-Length carries Connection: close, as under node:http', async () => {
    const server = createServer(toNodeHandler(echo, { maxBodyBytes: 100 }))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    let nodeConnection: string | undefined
    try {
      const res = await rawRequest(
        (server.address() as AddressInfo).port,
        Buffer.from(
          'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{"a":'
        )
      )
      expect(res.status).toBe(413)
      nodeConnection = res.headers.connection
    } finally {
      server.closeAllConnections()
      server.close()
    }
    expect(nodeConnection).toBe('close')

    const route = withAikit(async () => new Response('route'), echo, { maxBodyBytes: 100 })
    const { body, pulled } = endlessBody()
    const res = await route(post(body, { 'content-length': '10737418240' }), {})
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe(nodeConnection)
    expect(pulled()).toBe(0)
  })

  it('a 413 past the limit mid-stream (no Content-Length) carries Connection: close', async () => {
    const route = withAikit(async () => new Response('route'), echo, { maxBodyBytes: 4096 })
    const { body, pulled } = endlessBody()
    const res = await route(post(body, {}), {})
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
    expect(pulled()).toBeLessThan(20)
  })

  it('a middleware that catches the 413 and answers itself still asks to close', async () => {
    const lenient: Middleware = async function lenient(ctx) {
      try {
        await ctx.json()
      } catch {
        ctx.respond(200, { ignored: true })
      }
    }
    const route = withAikit(async () => new Response('route'), lenient, { maxBodyBytes: 100 })
    const { body } = endlessBody()
    const res = await route(post(body, { 'content-length': '5000' }), {})
    expect(res.status).toBe(200)
    expect(res.headers.get('connection')).toBe('close')
  })

  it("a declared Content-Length over the body policy's limit is refused before a byte is read", async () => {
    const policy: Middleware = async function policy(ctx, next) {
      ;(ctx as unknown as Record<symbol, (p: unknown) => void>)[BODY_POLICY]!({
        maxBytes: 100,
        decompress: false,
        timeoutMs: 0,
      })
      return next()
    }
    const route = withAikit(async () => new Response('route'), policy, echo)
    const { body, pulled } = endlessBody()
    const res = await route(post(body, { 'content-length': '5000' }), {})
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({
      error: { code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 100 } },
    })
    expect(res.headers.get('connection')).toBe('close')
    expect(pulled()).toBe(0)
  })

  it('a body read in full leaves the connection alone', async () => {
    const route = withAikit(async () => new Response('route'), echo)
    const res = await route(
      new Request(`${URL_BASE}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      }),
      {}
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ echo: { a: 1 } })
    expect(res.headers.get('connection')).toBeNull()
  })
})
