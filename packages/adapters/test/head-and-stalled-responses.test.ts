/**
 * HEAD requests answered with a streamed `respond()` (node:http, Fastify) send the head and no
 * body, and `finished` resolves; `respond()` on HEAD under Express keeps the GET's Content-Length.
 * A node:http handler that never ends is cut by the server's timeout: `finished` resolves aborted,
 * `ctx.signal` is aborted and the middleware's `await next()` resolves.
 */
import { createServer } from 'node:http'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'
import { rawExchange } from './raw-exchange.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Log {
  cancelled: boolean
  finished?: { aborted: boolean }
  nextDone: boolean
  signal?: boolean
}
function streamResponder(log: Log, status = 200): Middleware {
  return async (ctx) => {
    void ctx.finished.then((f) => {
      log.finished = f
    })
    let n = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (n++ < 3) c.enqueue(new TextEncoder().encode('data: x\n\n'))
        else c.close()
      },
      cancel() {
        log.cancelled = true
      },
    })
    ctx.respond(status, stream, { 'content-type': 'text/event-stream' })
  }
}

describe('HEAD with a streamed respond()', () => {
  it('node:http: no body, finished resolves', async () => {
    const log: Log = { cancelled: false, nextDone: false }
    const s = await listen(createServer(toNodeHandler(streamResponder(log))))
    closers.push(s.close)
    const port = Number(new URL(s.url).port)
    const r = await rawExchange(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    for (const end = Date.now() + 10_000; Date.now() < end && log.finished === undefined; )
      await wait(10)
    expect(r.closed).toBe(true)
    expect(r.text).toMatch(/^HTTP\/1.1 200/)
    expect(r.text.split('\r\n\r\n')[1]).toBe('')
    expect(log.finished).toEqual({ aborted: false })
  })

  it('fastify: no body, finished resolves', async () => {
    const log: Log = { cancelled: false, nextDone: false }
    const app = Fastify()
    await app.register(aikitFastify, { use: [streamResponder(log)] })
    app.get('/', async () => 'route')
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const port = (app.server.address() as { port: number }).port
    const r = await rawExchange(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    for (const end = Date.now() + 10_000; Date.now() < end && log.finished === undefined; )
      await wait(10)
    expect(r.closed).toBe(true)
    expect(r.text).toMatch(/^HTTP\/1.1 200/)
    expect(r.text.split('\r\n\r\n')[1]).toBe('')
    expect(log.finished).toEqual({ aborted: false })
  })
})

describe('node:http: a handler that never ends', () => {
  it('server timeout destroys the socket: finished aborted, signal aborted, next() resolves', async () => {
    const log: Log = { cancelled: false, nextDone: false }
    const mw: Middleware = async (ctx, next) => {
      void ctx.finished.then((f) => {
        log.finished = f
        log.signal = ctx.signal.aborted
      })
      await next()
      log.nextDone = true
    }
    const server = createServer(toNodeHandler(mw, { handler: () => {} }))
    server.setTimeout(150)
    const s = await listen(server)
    closers.push(s.close)
    const port = Number(new URL(s.url).port)
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 2000)
    for (const end = Date.now() + 10_000; Date.now() < end && log.finished === undefined; )
      await wait(10)
    expect(r.closed).toBe(true)
    expect(log).toMatchObject({ finished: { aborted: true }, signal: true, nextDone: true })
  })
})

describe('express: respond() on HEAD through the kit, with onHeaders', () => {
  it('ctx.respond(200, json) on HEAD keeps the GET Content-Length, no body', async () => {
    const app = express()
    app.use(
      toExpress(async (ctx) => {
        ctx.respond(200, { hello: 'world' })
      })
    )
    const s = await listen(createServer(app))
    closers.push(s.close)
    const get = await fetch(s.url)
    const getLen = get.headers.get('content-length')
    await get.text()
    const head = await fetch(s.url, { method: 'HEAD' })
    expect(head.headers.get('content-length')).toBe(getLen)
  })
})
