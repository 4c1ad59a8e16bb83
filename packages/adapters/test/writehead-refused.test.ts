/**
 * A `writeHead` Node refuses (a header value with a newline, a status outside 100-999) throws
 * before anything is written, as it does without the kit, and counts as no head: the next head
 * (the kit's JSON error on node:http, the framework's error response on Express and Fastify)
 * runs `onHeaders` with its own status, carries the middleware headers, and is what `ctx.status`
 * reports. A refused status is caught before the hooks run; a refused header (checking every
 * header of every response in advance would cost each request what Node's own check costs) or
 * a hook below the kit's that throws is undone after the throw: the hooks, which already ran for
 * the refused head, run again for the next head, whose status is the one that counts.
 */
import { createServer, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { listen } from './conformance/listen.js'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.map((c) => c()))
})

/** The raw response (status line, headers, body) until the server closes the connection. */
function rawGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error(`no complete response: ${JSON.stringify(text)}`))
    }, 5000)
    sock.on('data', (d) => {
      text += d.toString('latin1')
    })
    sock.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
    sock.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  })
}

const portOf = (url: string): number => Number(new URL(url).port)

/**
 * Records each `onHeaders` call, and the status once `next()` resolves, or that it threw (on
 * node:http the handler's error reaches the middleware; the JSON error is written after them).
 */
function probe(seen: unknown[]): Middleware {
  return async (ctx, next) => {
    ctx.setHeader('x-kit', '1')
    ctx.onHeaders(() => void seen.push(`head ${ctx.status}`))
    try {
      await next()
    } catch (error) {
      seen.push('next threw')
      throw error
    }
    seen.push(`after ${ctx.status}`)
  }
}

// e.g. a filename from user input in Content-Disposition
const BAD_HEADERS = { 'content-disposition': 'attachment; filename="a\nb.txt"' }

describe('node:http', () => {
  async function serve(seen: unknown[], handler: (res: ServerResponse) => void): Promise<string> {
    const s = await listen(
      createServer(toNodeHandler(probe(seen), { handler: (_req, res) => handler(res) }))
    )
    closers.push(s.close)
    return s.url
  }

  it('a header value Node refuses: the JSON 500 with the middleware header, not a hang', async () => {
    const seen: unknown[] = []
    const url = await serve(seen, (res) => {
      res.writeHead(200, BAD_HEADERS)
      res.end('file')
    })
    const text = await rawGet(portOf(url))
    expect(text).toMatch(/^HTTP\/1.1 500 Internal Server Error\r\n/)
    expect(text).toContain('"INTERNAL"')
    expect(text).toContain('x-kit: 1')
    expect(seen).toEqual(['head 200', 'next threw', 'head 500'])
  })

  it('a status Node refuses: the JSON 500', async () => {
    const seen: unknown[] = []
    const url = await serve(seen, (res) => {
      res.writeHead(42)
      res.end('?')
    })
    const text = await rawGet(portOf(url))
    expect(text).toMatch(/^HTTP\/1.1 500 /)
    expect(text).toContain('"INTERNAL"')
    expect(seen).toEqual(['next threw', 'head 500'])
  })

  it('a head that fails below the kit is undone: its hooks run again for the JSON 500', async () => {
    const seen: unknown[] = []
    const handler = toNodeHandler(probe(seen), {
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end('ok')
      },
    })
    const s = await listen(
      createServer((req, res) => {
        // An on-headers style hook installed before the kit's, whose listener throws once.
        const prev = res.writeHead
        let thrown = false
        res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
          if (!thrown) {
            thrown = true
            throw new Error('listener failed')
          }
          return (prev as (...a: unknown[]) => ServerResponse).apply(this, args)
        } as typeof res.writeHead
        handler(req, res)
      })
    )
    closers.push(s.close)
    const text = await rawGet(portOf(s.url))
    expect(text).toMatch(/^HTTP\/1.1 500 Internal Server Error\r\n/)
    expect(text).toContain('x-kit: 1')
    expect(text).not.toContain('content-type: text/plain')
    expect(seen).toEqual(['head 200', 'next threw', 'head 500'])
  })
})

it('express: ctx.status and onHeaders see the 500 Express sends, with the middleware header', async () => {
  const seen: unknown[] = []
  const app = express()
  app.use(toExpress(probe(seen)))
  app.get('/', (_req, res) => {
    res.writeHead(200, BAD_HEADERS)
    res.end('file')
  })
  app.use(
    (_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: 'handled' })
    }
  )
  const s = await listen(createServer(app))
  closers.push(s.close)
  const text = await rawGet(portOf(s.url))
  expect(text).toMatch(/^HTTP\/1.1 500 Internal Server Error\r\n/)
  expect(text).toContain('x-kit: 1')
  expect(text).toContain('{"error":"handled"}')
  expect(seen).toEqual(['head 200', 'head 500', 'after 500'])
})

it('fastify: a reply header Node refuses: the 500 Fastify answers carries the kit header and status', async () => {
  const seen: unknown[] = []
  const app = Fastify()
  await app.register(aikitFastify, { use: [probe(seen)] })
  app.get('/', async (_req, reply) => {
    reply.header('content-disposition', BAD_HEADERS['content-disposition'])
    return 'file'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  closers.push(() => app.close())
  const text = await rawGet((app.server.address() as { port: number }).port)
  expect(text).toMatch(/^HTTP\/1.1 500 Internal Server Error\r\n/)
  expect(text).toContain('x-kit: 1')
  // The refused head's hooks ran, then the 500's; `ctx.status` after next() is the 500.
  expect(seen[0]).toBe('head 200')
  expect(seen.slice(-2)).toEqual(['head 500', 'after 500'])
})
