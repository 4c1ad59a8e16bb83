/**
 * A stream handed over after the client left (the first token of an LLM answer arrives after the
 * user closed the tab) will never be written: the adapter cancels it, as it cancels one whose
 * client leaves mid-stream. Before, the Node adapters returned early on the destroyed response and
 * Next's `pipeToNodeResponse` returns without reading or cancelling such a body: the upstream
 * stream (and its provider connection) stayed open.
 */
import type { Context, Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { withAikit } from '../src/next/index.js'
import { NODE_ADAPTERS, openSocket } from './fixtures/node-adapters.js'

function upstream(): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode('data: token\n\n'))
    },
    cancel() {
      cancelled = true
    },
  })
  return { stream, cancelled: () => cancelled }
}

describe('a respond() stream handed over after the client left', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: is cancelled`, async () => {
      const source = upstream()
      let responded = false
      let seen: Context | undefined
      const late: Middleware = async function late(ctx) {
        seen = ctx
        await ctx.finished
        ctx.respond(200, source.stream, { 'content-type': 'text/event-stream' })
        responded = true
      }
      const server = await start([late])
      try {
        const socket = await openSocket(server.port)
        socket.write('GET /chat HTTP/1.1\r\nHost: x\r\n\r\n')
        await expect.poll(() => seen, { timeout: 10_000 }).toBeDefined()
        socket.destroy()
        await expect.poll(() => responded, { timeout: 10_000 }).toBe(true)
        await expect.poll(() => source.cancelled(), { timeout: 10_000 }).toBe(true)
      } finally {
        await server.close()
      }
    })

    it(`${name}: an async iterable is closed (iterator.return())`, async () => {
      let closed = false
      let responded = false
      let seen: Context | undefined
      async function* tokens(): AsyncGenerator<string> {
        try {
          for (;;) yield 'data: token\n\n'
        } finally {
          closed = true
        }
      }
      const late: Middleware = async function late(ctx) {
        seen = ctx
        await ctx.finished
        const it = tokens()
        await it.next() // started: its finally runs on return()
        ctx.respond(200, it, { 'content-type': 'text/event-stream' })
        responded = true
      }
      const server = await start([late])
      try {
        const socket = await openSocket(server.port)
        socket.write('GET /chat HTTP/1.1\r\nHost: x\r\n\r\n')
        await expect.poll(() => seen, { timeout: 10_000 }).toBeDefined()
        socket.destroy()
        await expect.poll(() => responded, { timeout: 10_000 }).toBe(true)
        await expect.poll(() => closed, { timeout: 10_000 }).toBe(true)
      } finally {
        await server.close()
      }
    })
  }

  it('withAikit: is cancelled once request.signal aborted', async () => {
    const client = new AbortController()
    const source = upstream()
    const late: Middleware = async function late(ctx) {
      await ctx.finished // resolves { aborted: true } when the client goes away
      ctx.respond(200, source.stream, { 'content-type': 'text/event-stream' })
    }
    const route = withAikit(async () => new Response('route'), late)
    const pending = route(new Request('http://127.0.0.1:3000/chat', { signal: client.signal }), {})
    client.abort()
    const res = await pending
    expect(res.status).toBe(200)
    await expect.poll(() => source.cancelled(), { timeout: 10_000 }).toBe(true)
  })

  it("withAikit: the route's Response body is cancelled when the client left before it returned", async () => {
    const client = new AbortController()
    const source = upstream()
    let finished: unknown
    const watch: Middleware = async function watch(ctx, next) {
      void ctx.finished.then((info) => {
        finished = info
      })
      await next()
    }
    const route = withAikit(async (req: Request) => {
      await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve()))
      return new Response(source.stream, { headers: { 'content-type': 'text/event-stream' } })
    }, watch)
    const pending = route(new Request('http://127.0.0.1:3000/chat', { signal: client.signal }), {})
    client.abort()
    const res = await pending
    expect(res.status).toBe(200)
    await expect.poll(() => source.cancelled(), { timeout: 10_000 }).toBe(true)
    expect(finished).toEqual({ aborted: true })
  })
})
