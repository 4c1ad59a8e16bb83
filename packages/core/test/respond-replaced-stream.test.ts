/**
 * A stream body handed to `ctx.respond` belongs to the kit (the adapters cancel it when the
 * client leaves). When that pending response is replaced before its head is written, by a second
 * `respond` or by the error response of a throw, the stream is cancelled: an upstream LLM stream
 * (and its provider connection) is not left open. So is one given with a status that carries no
 * content (204, 205, 304): it is never written.
 */
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

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

describe('a pending respond() stream that is never written', () => {
  it('is cancelled when a throw replaces it with the error response', async () => {
    const source = upstream()
    const mw: Middleware = async function chat(ctx) {
      ctx.respond(200, source.stream, { 'content-type': 'text/event-stream' })
      throw new Error('post-processing failed')
    }
    const ctx = new TestContext()
    await ctx.run(mw)
    expect(ctx.written?.status).toBe(500)
    await expect.poll(() => source.cancelled(), { timeout: 10_000 }).toBe(true)
  })

  it('is cancelled when a second respond() replaces it', async () => {
    const source = upstream()
    const mw: Middleware = async function chat(ctx) {
      ctx.respond(200, source.stream, { 'content-type': 'text/event-stream' })
      ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
    }
    const ctx = new TestContext()
    await ctx.run(mw)
    expect(ctx.written?.status).toBe(429)
    await expect.poll(() => source.cancelled(), { timeout: 10_000 }).toBe(true)
  })

  it('an async iterable is closed (iterator.return()) when replaced', async () => {
    let closed = false
    async function* tokens(): AsyncGenerator<string> {
      try {
        for (;;) yield 'data: token\n\n'
      } finally {
        closed = true
      }
    }
    const mw: Middleware = async function chat(ctx) {
      const it = tokens()
      await it.next() // started: its finally runs on return()
      ctx.respond(200, it)
      ctx.respond(503, 'unavailable')
    }
    const ctx = new TestContext()
    await ctx.run(mw)
    expect(ctx.written?.status).toBe(503)
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(true)
  })

  it('is not cancelled when respond() is called again with the same stream', async () => {
    const source = upstream()
    const mw: Middleware = async function chat(ctx) {
      ctx.respond(200, source.stream)
      ctx.respond(201, source.stream, { 'content-type': 'text/event-stream' })
    }
    const ctx = new TestContext()
    await ctx.run(mw)
    expect(ctx.written?.status).toBe(201)
    await new Promise((r) => setTimeout(r, 20))
    expect(source.cancelled()).toBe(false)
  })

  it.each([204, 205, 304])(
    'is cancelled when given with a %i, which carries no content',
    async (status) => {
      const source = upstream()
      const mw: Middleware = async function noContent(ctx) {
        ctx.respond(status, source.stream)
      }
      const ctx = new TestContext()
      await ctx.run(mw)
      expect(ctx.written?.status).toBe(status)
      await expect.poll(() => source.cancelled(), { timeout: 10_000 }).toBe(true)
    }
  )
})
