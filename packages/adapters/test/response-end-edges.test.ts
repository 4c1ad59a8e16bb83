/**
 * The end of a response in the cases that are easy to get wrong, on real servers: pipelined
 * keep-alive requests each get their own head, headers and `finished`; a handler or route that
 * fails after its head (node:http sync or async, Express 5 async, a Fastify stream source) has its
 * error reported once and the connection closed, with `finished` aborted, never a response left
 * open; one that fails after its whole response only reports it. Fastify's `callNotFound` and HEAD
 * 404s, and a route-level Express chain on a HEAD request, get the middleware's head.
 */

import { createServer } from 'node:http'
import { Readable } from 'node:stream'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Context, Middleware } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'
import { rawExchange } from './raw-exchange.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

interface Seen {
  heads: number[]
  finished: ({ aborted: boolean } | undefined)[]
  signal: boolean[]
  errors: unknown[]
}
function probe(seen: Seen): Middleware {
  return async function probe(ctx: Context, next) {
    const i = seen.finished.length
    seen.finished.push(undefined)
    ctx.setHeader('x-kit', String(i))
    ctx.onHeaders(() => void seen.heads.push(ctx.status ?? -1))
    void ctx.finished.then((f) => {
      seen.finished[i] = f
      seen.signal[i] = ctx.signal.aborted
    })
    await next()
  }
}
const newSeen = (): Seen => ({ heads: [], finished: [], signal: [], errors: [] })
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Sends `payload` raw, collects until close or `ms`. */

describe('node:http', () => {
  it('pipelined keep-alive requests: each gets its own head, headers and finished', async () => {
    const seen = newSeen()
    const server = createServer(
      toNodeHandler(probe(seen), {
        handler: async (req, res) => {
          if (req.url === '/slow') await wait(50)
          res.setHeader('content-type', 'text/plain')
          res.end(req.url)
        },
      })
    )
    const s = await listen(server)
    closers.push(s.close)
    const port = Number(new URL(s.url).port)
    const r = await rawExchange(
      port,
      'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    )
    expect(r.closed).toBe(true)
    const heads = r.text.split('HTTP/1.1 ').slice(1)
    expect(heads.length).toBe(3)
    expect(heads[0]).toContain('x-kit: 0')
    expect(heads[0]).toMatch(/\/slow$/)
    expect(heads[1]).toContain('x-kit: 1')
    expect(heads[1]).toMatch(/\/fast$/)
    expect(heads[2]).toMatch(/\/last$/)
    for (
      const end = Date.now() + 10_000;
      Date.now() < end && seen.finished.some((f) => f === undefined);
    )
      await wait(10)
    expect(seen.finished).toEqual([{ aborted: false }, { aborted: false }, { aborted: false }])
  })

  it('a sync handler that throws after writing the head is destroyed, not left hanging', async () => {
    const seen = newSeen()
    const server = createServer(
      toNodeHandler(probe(seen), {
        onError: (e) => void seen.errors.push(e),
        handler: (req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' })
          res.write('part')
          if (req.url === '/throw') throw new Error('boom')
          res.end()
        },
      })
    )
    const s = await listen(server)
    closers.push(s.close)
    const port = Number(new URL(s.url).port)
    const r = await rawExchange(port, 'GET /throw HTTP/1.1\r\nHost: x\r\n\r\n', 1000)
    // README: after the head the error goes to onError and the response is destroyed: the socket
    // closes instead of holding a half-sent chunked response open forever.
    expect({ closed: r.closed, errors: seen.errors.length, finished: seen.finished }).toEqual({
      closed: true,
      errors: 1,
      finished: [{ aborted: true }],
    })
  })

  it('a sync handler that throws after writing the whole response: onError, no crash', async () => {
    const seen = newSeen()
    const server = createServer(
      toNodeHandler(probe(seen), {
        onError: (e) => void seen.errors.push(e),
        handler: (_req, res) => {
          res.end('done')
          throw new Error('after end')
        },
      })
    )
    const s = await listen(server)
    closers.push(s.close)
    const res = await fetch(s.url)
    expect(await res.text()).toBe('done')
    for (const end = Date.now() + 10_000; Date.now() < end && seen.finished[0] === undefined; )
      await wait(10)
    expect(seen.errors.length).toBe(1)
    expect(seen.finished).toEqual([{ aborted: false }])
  })
})

describe('fastify', () => {
  it('reply.send(stream) whose source fails mid-way: connection closed, finished aborted', async () => {
    const seen = newSeen()
    const app = Fastify()
    await app.register(aikitFastify, { use: [probe(seen)] })
    app.get('/', async (_req, reply) => {
      const src = new Readable({ read() {} })
      src.push('first')
      setTimeout(() => src.destroy(new Error('upstream died')), 30)
      reply.header('content-type', 'text/plain')
      return reply.send(src)
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const port = (app.server.address() as { port: number }).port
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 1500)
    expect(r.closed).toBe(true)
    expect(r.text).toContain('x-kit: 0')
    for (const end = Date.now() + 10_000; Date.now() < end && seen.finished[0] === undefined; )
      await wait(10)
    expect(seen.heads).toEqual([200])
    expect(seen.finished).toEqual([{ aborted: true }])
  })

  it('reply.callNotFound and HEAD to 404', async () => {
    const seen = newSeen()
    const app = Fastify()
    await app.register(aikitFastify, { use: [probe(seen)] })
    app.setNotFoundHandler((_req, reply) => {
      reply.code(404).send({ custom: true })
    })
    app.get('/c', async (_req, reply) => reply.callNotFound())
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    const r = await fetch(`${url}/c`)
    expect(r.status).toBe(404)
    expect(await r.json()).toEqual({ custom: true })
    expect(r.headers.get('x-kit')).toBe('0')
    const r2 = await fetch(`${url}/zz`, { method: 'HEAD' })
    expect(r2.status).toBe(404)
    expect(r2.headers.get('x-kit')).toBe('1')
    for (
      const end = Date.now() + 10_000;
      Date.now() < end && seen.finished.some((f) => f === undefined);
    )
      await wait(10)
    expect(seen.heads).toEqual([404, 404])
    expect(seen.finished).toEqual([{ aborted: false }, { aborted: false }])
  })
})

describe('express 5', () => {
  it('async route rejecting after writing part: socket closed, finished aborted, handler error seen once', async () => {
    const seen = newSeen()
    const app = express()
    app.use(toExpress(probe(seen), { onError: (e) => void seen.errors.push(e) }))
    app.get('/', async (_req, res) => {
      res.write('part')
      await wait(10)
      throw new Error('late')
    })
    const server = createServer(app)
    const s = await listen(server)
    closers.push(s.close)
    const port = Number(new URL(s.url).port)
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 1500)
    expect(r.closed).toBe(true)
    for (const end = Date.now() + 10_000; Date.now() < end && seen.finished[0] === undefined; )
      await wait(10)
    expect(seen.finished).toEqual([{ aborted: true }])
    expect(seen.heads).toEqual([200])
  })

  it('route-level toExpress on a HEAD request to a GET route', async () => {
    const seen = newSeen()
    const app = express()
    app.get('/', toExpress(probe(seen)), (_req, res) => {
      res.status(201).json({ a: 1 })
    })
    const s = await listen(createServer(app))
    closers.push(s.close)
    const r = await fetch(s.url, { method: 'HEAD' })
    expect(r.status).toBe(201)
    expect(r.headers.get('x-kit')).toBe('0')
    for (const end = Date.now() + 10_000; Date.now() < end && seen.finished[0] === undefined; )
      await wait(10)
    expect(seen.heads).toEqual([201])
    expect(seen.finished).toEqual([{ aborted: false }])
  })
})
