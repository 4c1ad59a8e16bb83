/**
 * compress() keeps the body a route writes intact on real servers: node:http res.write with a
 * string encoding (base64, hex) and res.end(string, latin1, cb) decode to the text and the end
 * callback is called; a stream source that fails mid-way does not end the response as complete
 * and its error text never reaches the client; a hijacked Fastify reply written with raw
 * write/end decodes to the text.
 */
import { createServer, request as httpRequest, type Server } from 'node:http'
import zlib from 'node:zlib'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeBody, rawRequest } from './compress-raw-client.js'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** latin1-safe (ASCII) text of ~3 KB for write(string, encoding). */
const ENC_TEXT = 'abcdefghij klmnopqrst uvwxyz 0123456789\n'.repeat(80)
/** A compressible 20 KB text. */
const TEXT = 'lorem ipsum dolor sit amet, '.repeat(720)
const cbLog: string[] = []

async function* failingSource(): AsyncGenerator<string> {
  yield 'data: first event, long enough to be sent on its own\n\n'.repeat(40)
  await new Promise((r) => setTimeout(r, 50))
  throw new Error('upstream broke SECRET-STACK-MARKER')
}

const routes: Middleware = async (ctx, next) => {
  if (ctx.path === '/failing-stream') {
    return ctx.respond(200, failingSource(), { 'content-type': 'text/event-stream' })
  }
  return next()
}

const servers: ConformanceServer[] = []
const apps: FastifyInstance[] = []
const base: Record<string, string> = {}

beforeAll(async () => {
  const node = await listen(
    createServer(
      toNodeHandler(compress(), routes, {
        handler: (_req, res) => {
          res.setHeader('content-type', 'text/plain')
          res.write(Buffer.from(ENC_TEXT.slice(0, 1000)).toString('base64'), 'base64')
          res.write(Buffer.from(ENC_TEXT.slice(1000, 2000)).toString('hex'), 'hex')
          res.end(ENC_TEXT.slice(2000), 'latin1', () => {
            cbLog.push('end-cb')
          })
        },
      })
    ) as Server
  )
  servers.push(node)
  base.node = node.url

  const fastify = Fastify()
  apps.push(fastify)
  await fastify.register(aikitFastify, { use: [compress()] })
  fastify.get('/hijack', (_req, reply) => {
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.raw.write(TEXT.slice(0, 8000))
    reply.raw.end(TEXT.slice(8000))
  })
  base.fastify = await fastify.listen({ port: 0, host: '127.0.0.1' })
})

afterAll(async () => {
  await Promise.all([...servers.map((s) => s.close()), ...apps.map((a) => a.close())])
})

describe('compress() and the bytes a route writes', () => {
  it('node: write(string, base64|hex) and end(string, latin1, cb) decode to the text; cb is called', async () => {
    cbLog.length = 0
    const r = await rawRequest(`${base.node}/encodings`, { 'accept-encoding': 'gzip' })
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(decodeBody(r)).toBe(ENC_TEXT)
    for (const end = Date.now() + 10_000; Date.now() < end && cbLog.length === 0; )
      await new Promise((r) => setTimeout(r, 10))
    expect(cbLog).toEqual(['end-cb'])
  })

  it('node: a stream source failing mid-way does not end the response cleanly and leaks nothing', async () => {
    const outcome = await new Promise<{ clean: boolean; body: Buffer }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no outcome')), 5000)
      const done = (clean: boolean, body: Buffer): void => {
        clearTimeout(timer)
        resolve({ clean, body })
      }
      const req = httpRequest(
        `${base.node}/failing-stream`,
        { headers: { 'accept-encoding': 'gzip' } },
        (res) => {
          const parts: Buffer[] = []
          res.on('data', (c: Buffer) => parts.push(c))
          res.once('end', () => done(res.complete, Buffer.concat(parts)))
          res.once('error', () => done(false, Buffer.concat(parts)))
          res.once('aborted', () => done(false, Buffer.concat(parts)))
        }
      )
      req.once('error', () => done(false, Buffer.alloc(0)))
      req.end()
    })
    expect(outcome.clean).toBe(false)
    const text = String(zlib.gunzipSync(outcome.body, { finishFlush: zlib.constants.Z_SYNC_FLUSH }))
    expect(text).toContain('data: first event')
    expect(text).not.toContain('SECRET-STACK-MARKER')
  })

  it('fastify: a hijacked reply written with raw write/end decodes to the text', async () => {
    const r = await rawRequest(`${base.fastify}/hijack`, { 'accept-encoding': 'br' })
    expect(r.status).toBe(200)
    expect(r.headers['content-encoding']).toBe('br')
    expect(decodeBody(r)).toBe(TEXT)
  })
})
