/**
 * The kit's own responses (its JSON error, a `respond` body) never go out with entity headers
 * that something else set on the shared response for a body of its own: a handler that set
 * Content-Length / Content-Encoding (a file download) and then failed before the head would
 * otherwise send the JSON error with the stale Content-Length (the client waits for bytes that
 * never come) or labelled gzip. Like finalhandler, the kit drops them and sets Content-Length from
 * its own bytes, on node:http, Express (the chain and `aikitErrorHandler`) and Fastify (the chain
 * and the `errorHandler` option).
 */
import { createServer, request as httpRequest, type Server } from 'node:http'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const servers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})
const pass: Middleware = async (_ctx, next) => next()
const tooMany: Middleware = async (ctx) => {
  ctx.respond(429, { error: { code: 'RATE_LIMITED', message: 'Too many requests' } })
}

/** What a download handler sets before it opens the file (and fails). */
const STALE: Record<string, string> = {
  'content-type': 'application/pdf',
  'content-length': '1048576',
  'content-encoding': 'gzip',
  'content-range': 'bytes 0-1048575/2097152',
  'content-disposition': 'attachment; filename="report.pdf"',
  etag: '"v1"',
  'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT',
}
const ENTITY = Object.keys(STALE).filter((name) => name !== 'content-type')

interface Got {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** False when the body had not ended when the server closed the connection or gave up. */
  complete: boolean
}

/**
 * A raw GET (no decoding, as a client trusting the headers would see it). A response whose body
 * has not ended after 1.5 s is reported incomplete rather than awaited forever.
 */
function get(url: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => {
        body += c
      })
      const timer = setTimeout(() => {
        resolve({ status: res.statusCode!, headers: res.headers, body, complete: false })
        req.destroy()
      }, 1500)
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode!, headers: res.headers, body, complete: true })
      })
      res.on('error', () => {})
    })
    req.on('error', reject)
    req.end()
  })
}

async function serve(server: Server): Promise<string> {
  const s = await listen(server)
  servers.push(s)
  return s.url
}

/** The kit's body came through whole, as plain JSON, with no header of the other body. */
function expectClean(res: Got, status: number, body: unknown): void {
  expect(res.complete).toBe(true)
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
  expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)))
  for (const name of ENTITY.filter((n) => n !== 'content-length')) {
    expect(res.headers[name], name).toBeUndefined()
  }
  expect(JSON.parse(res.body)).toEqual(body)
}

const INTERNAL = { error: { code: 'INTERNAL', message: 'Internal server error' } }
const RATE_LIMITED = { error: { code: 'RATE_LIMITED', message: 'Too many requests' } }

describe('node:http', () => {
  it("the JSON 500 after a handler set its body's headers, then threw", async () => {
    const url = await serve(
      createServer(
        toNodeHandler(pass, {
          handler: async (_req, res) => {
            for (const [k, v] of Object.entries(STALE)) res.setHeader(k, v)
            await Promise.resolve()
            throw new Error('EACCES: permission denied') // the file stream failed to open
          },
        })
      ) as Server
    )
    expectClean(await get(`${url}/file.pdf`), 500, INTERNAL)
  })

  it('each header alone: Content-Length no longer hangs the client, gzip no longer labels JSON', async () => {
    for (const name of ENTITY) {
      const url = await serve(
        createServer(
          toNodeHandler(pass, {
            handler: async (_req, res) => {
              res.setHeader(name, STALE[name]!)
              throw new Error('boom')
            },
          })
        ) as Server
      )
      expectClean(await get(`${url}/file.pdf`), 500, INTERNAL)
    }
  })

  it('a respond() body after a framework layer set them on the response', async () => {
    const handler = toNodeHandler(tooMany)
    const url = await serve(
      createServer((req, res) => {
        for (const [k, v] of Object.entries(STALE)) res.setHeader(k, v)
        handler(req, res)
      })
    )
    expectClean(await get(`${url}/file.pdf`), 429, RATE_LIMITED)
  })

  it('headers given to respond() still apply', async () => {
    const url = await serve(
      createServer(
        toNodeHandler(async (ctx) => {
          ctx.respond(200, 'hello', { etag: '"mine"', 'content-language': 'en' })
        })
      ) as Server
    )
    const res = await get(`${url}/`)
    expect([res.status, res.body, res.complete]).toEqual([200, 'hello', true])
    expect(res.headers.etag).toBe('"mine"')
    expect(res.headers['content-language']).toBe('en')
    expect(res.headers['content-length']).toBe('5')
  })
})

describe('Express', () => {
  it('aikitErrorHandler after a route set its body headers, then threw', async () => {
    const app = express()
    app.use(toExpress(pass))
    app.get('/file.pdf', (_req, res) => {
      for (const [k, v] of Object.entries(STALE)) res.setHeader(k, v)
      throw new Error('EACCES: permission denied')
    })
    app.use(aikitErrorHandler())
    const url = await serve(createServer(app))
    expectClean(await get(`${url}/file.pdf`), 500, INTERNAL)
  })

  it("the chain's respond() after an earlier layer set them", async () => {
    const app = express()
    app.use((_req, res, next) => {
      for (const [k, v] of Object.entries(STALE)) res.setHeader(k, v)
      next()
    })
    app.use(toExpress(tooMany))
    const url = await serve(createServer(app))
    expectClean(await get(`${url}/file.pdf`), 429, RATE_LIMITED)
  })
})

describe('Fastify', () => {
  it('the errorHandler option after a route set its body headers, then threw', async () => {
    const app = Fastify({ logger: false })
    await app.register(aikitFastify, { use: [pass], errorHandler: true })
    app.get('/file.pdf', async (_request, reply) => {
      for (const [k, v] of Object.entries(STALE)) reply.header(k, v)
      reply.raw.setHeader('content-encoding', 'br')
      throw new Error('EACCES: permission denied')
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    servers.push({ url: '', close: () => app.close() })
    const { port } = app.server.address() as { port: number }
    expectClean(await get(`http://127.0.0.1:${port}/file.pdf`), 500, INTERNAL)
  })

  it("the chain's respond() after an earlier hook set them", async () => {
    const app = Fastify({ logger: false })
    app.addHook('onRequest', async (_request, reply) => {
      for (const [k, v] of Object.entries(STALE)) reply.header(k, v)
    })
    await app.register(aikitFastify, { use: [tooMany] })
    app.get('/file.pdf', async () => 'never')
    await app.listen({ port: 0, host: '127.0.0.1' })
    servers.push({ url: '', close: () => app.close() })
    const { port } = app.server.address() as { port: number }
    expectClean(await get(`http://127.0.0.1:${port}/file.pdf`), 429, RATE_LIMITED)
  })
})
