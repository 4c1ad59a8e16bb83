/**
 * HTTP/1.1 pipelining on the Node adapters: a request that waits behind another response (Node
 * runs its middleware at once but queues its response) learns that the client left. Node
 * destroys such a request when the socket closes (and not even that once its body was read) but
 * never emits 'close' on its queued response, which is all the Context listened to: `signal`
 * never aborted, `finished` never resolved (httpMetrics' in-flight gauge stayed up), and a stream
 * body waiting for 'drain' hung with its source open.
 */
import type { IncomingMessage } from 'node:http'
import type { Context, FinishInfo, Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { collect, NODE_ADAPTERS, openSocket } from './fixtures/node-adapters.js'

function nodeReq(ctx: Context): IncomingMessage {
  return (ctx as unknown as { req: IncomingMessage }).req
}

/** An SSE-like answer that goes on for minutes unless cancelled. */
async function* endless(): AsyncGenerator<string> {
  for (let i = 0; i < 100_000; i++) {
    await new Promise((r) => setTimeout(r, 5))
    yield `data: ${i}\n\n`
  }
}

/** Responds to `/first` with `endless()`; other paths run `rest`. */
function firstStreams(contexts: Context[], rest: Middleware): Middleware {
  return async function firstStreams(ctx, next) {
    contexts.push(ctx)
    if (ctx.path === '/first') {
      ctx.respond(200, endless(), { 'content-type': 'text/event-stream' })
      return
    }
    return rest(ctx, next)
  }
}

/** Waits for the client to leave (an LLM call listening to ctx.signal), then answers. */
const untilAborted: Middleware = async function untilAborted(ctx) {
  await new Promise<void>((resolve) => {
    ctx.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  ctx.respond(200, 'second')
}

describe('a pipelined request queued behind another response', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: sees the client leave (signal aborted, finished { aborted: true })`, async () => {
      const contexts: Context[] = []
      const server = await start([firstStreams(contexts, untilAborted)])
      try {
        const socket = await openSocket(server.port)
        const read = collect(socket)
        socket.write(
          'GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n'
        )
        await expect.poll(() => contexts.length, { timeout: 10_000 }).toBe(2)
        await expect.poll(() => read().includes('data: 0'), { timeout: 10_000 }).toBe(true)
        const second = contexts[1]!
        let settled: FinishInfo | undefined
        void second.finished.then((info) => {
          settled = info
        })
        const secondReqClosed = new Promise((r) => nodeReq(second).once('close', r))
        socket.destroy()
        // Node destroys the queued request when the socket closes: the server knows the client left.
        await secondReqClosed
        await expect.poll(() => contexts[0]!.signal.aborted, { timeout: 10_000 }).toBe(true)
        await expect.poll(() => second.signal.aborted, { timeout: 10_000 }).toBe(true)
        await expect.poll(() => settled, { timeout: 10_000 }).toEqual({ aborted: true })
      } finally {
        await server.close()
      }
    })

    it(`${name}: sees the client leave after it read the request body (Node emits nothing on that request then)`, async () => {
      const contexts: Context[] = []
      let bodyRead: unknown
      const readsThenWaits: Middleware = async function readsThenWaits(ctx, next) {
        bodyRead = await ctx.json()
        return untilAborted(ctx, next)
      }
      const server = await start([firstStreams(contexts, readsThenWaits)])
      try {
        const socket = await openSocket(server.port)
        const read = collect(socket)
        const body = '{"q":"hi"}'
        socket.write(
          'GET /first HTTP/1.1\r\nHost: x\r\n\r\n' +
            `POST /second HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
        )
        await expect.poll(() => bodyRead, { timeout: 10_000 }).toEqual({ q: 'hi' })
        await expect.poll(() => read().includes('data: 0'), { timeout: 10_000 }).toBe(true)
        const second = contexts[1]!
        let settled: FinishInfo | undefined
        void second.finished.then((info) => {
          settled = info
        })
        socket.destroy()
        await expect.poll(() => contexts[0]!.signal.aborted, { timeout: 10_000 }).toBe(true)
        await expect.poll(() => second.signal.aborted, { timeout: 10_000 }).toBe(true)
        await expect.poll(() => settled, { timeout: 10_000 }).toEqual({ aborted: true })
      } finally {
        await server.close()
      }
    })

    it(`${name}: cancels a respond stream of the queued response stuck waiting for 'drain'`, async () => {
      const contexts: Context[] = []
      let pulled = 0
      let cancelled = false
      const bigStream: Middleware = async function bigStream(ctx) {
        ctx.respond(
          200,
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled++
              controller.enqueue(new Uint8Array(64 * 1024).fill(97))
            },
            cancel() {
              cancelled = true
            },
          }),
          { 'content-type': 'application/octet-stream' }
        )
      }
      const server = await start([firstStreams(contexts, bigStream)])
      try {
        const socket = await openSocket(server.port)
        const read = collect(socket)
        socket.write(
          'GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n'
        )
        await expect.poll(() => read().includes('data: 0'), { timeout: 10_000 }).toBe(true)
        // The queued response buffers what it is given until its turn: the pump waits for 'drain'.
        await expect.poll(() => pulled, { timeout: 10_000 }).toBeGreaterThan(0)
        socket.destroy()
        await expect.poll(() => cancelled, { timeout: 10_000 }).toBe(true)
        const second = contexts[1]!
        await expect(second.finished).resolves.toEqual({ aborted: true })
      } finally {
        await server.close()
      }
    })

    it(`${name}: queued requests that complete finish normally, their socket holding one extra 'close' listener at most`, async () => {
      const contexts: Context[] = []
      let baseline = -1
      let peak = 0
      let release: (() => void) | undefined
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const QUEUED = 30
      const mw: Middleware = async function mw(ctx) {
        contexts.push(ctx)
        const socket = nodeReq(ctx).socket
        if (ctx.path === '/first') {
          baseline = socket.listenerCount('close')
          ctx.respond(
            200,
            (async function* () {
              yield 'first\n'
              await gate
            })()
          )
          return
        }
        void ctx.finished // observed: the Context watches the queued response
        void ctx.signal
        peak = Math.max(peak, socket.listenerCount('close'))
        ctx.respond(200, 'queued')
      }
      const server = await start([mw])
      try {
        const socket = await openSocket(server.port)
        const read = collect(socket)
        let pipeline = 'GET /first HTTP/1.1\r\nHost: x\r\n\r\n'
        for (let i = 0; i < QUEUED; i++) pipeline += `GET /q${i} HTTP/1.1\r\nHost: x\r\n\r\n`
        socket.write(pipeline)
        await expect.poll(() => contexts.length, { timeout: 10_000 }).toBe(QUEUED + 1)
        expect(baseline).toBeGreaterThanOrEqual(0)
        expect(peak).toBeLessThanOrEqual(baseline + 1)
        release!()
        const infos = await Promise.all(contexts.map((c) => c.finished))
        expect(infos).toEqual(contexts.map(() => ({ aborted: false })))
        await expect
          .poll(() => read().match(/HTTP\/1\.1 200 /g)?.length, { timeout: 10_000 })
          .toBe(QUEUED + 1)
        socket.destroy()
      } finally {
        await server.close()
      }
    })
  }

  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: a keep-alive socket keeps nothing of its pipelined requests once they are answered`, async () => {
      // The watch list of queued responses lives on the socket, which outlives them (V8's old
      // space): a container left there kept gaining and losing each request's callback, and made
      // the young objects they reach survive into old space (a full GC every ~20k requests).
      const contexts: Context[] = []
      // Answers a turn later, watching `finished` (as httpMetrics does): the requests behind the
      // first one of a batch wait with no socket of their own.
      const answer: Middleware = async (ctx) => {
        contexts.push(ctx)
        void ctx.finished
        await new Promise((resolve) => setImmediate(resolve))
        ctx.respond(200, 'ok')
      }
      const server = await start([answer])
      try {
        const socket = await openSocket(server.port)
        const read = collect(socket)
        const count = (text: string) => text.split('HTTP/1.1 200').length - 1
        for (let batch = 1; batch <= 3; batch++) {
          socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(8))
          await expect.poll(() => count(read()), { timeout: 10_000 }).toBe(8 * batch)
        }
        const serverSocket = nodeReq(contexts[0]!).socket as unknown as Record<symbol, unknown>
        const held = Object.getOwnPropertySymbols(serverSocket)
          .filter((sym) => sym.description === '@aikit/adapters.queued-close')
          .map((sym) => serverSocket[sym])
        expect(held.every((value) => value === undefined)).toBe(true)
        socket.destroy()
      } finally {
        await server.close()
      }
    })
  }
})
