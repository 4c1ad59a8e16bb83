/**
 * compress() on real servers (node:http, Express, Fastify on 127.0.0.1; Next's withAikit with Web
 * Requests) completes a body written in a piece whose compressed form exceeds zlib's 16 KiB
 * readable buffer (poorly compressible text, a large JSON list): a respond() body over
 * syncMaxBytes, one res.write of 100 KB, Express sendFile (64 KB reads), a Fastify stream, a Next
 * Response.json. Such a response used to hang: the compressor's output was read only after a
 * flush that waited for it to be read.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeBody, rawRequest } from './compress-raw-client.js'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** ~100 KB of text whose gzip is ~75 KB (well over zlib's 16 KiB buffer). */
const RANDOM_TEXT = randomBytes(75_000).toString('base64')
const dir = mkdtempSync(join(tmpdir(), 'compress-large-'))
const FILE = join(dir, 'data.txt')
writeFileSync(FILE, RANDOM_TEXT)

/** An ordinary 600 KB JSON list (compresses ~10:1, still ~50 KB compressed). */
const LIST = {
  items: Array.from({ length: 5000 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    text: 'The quick brown fox jumps over the lazy dog',
    createdAt: new Date(1.7e12 + i * 7919000).toISOString(),
  })),
}

const routes: Middleware = async (ctx, next) => {
  if (ctx.path === '/respond-random') {
    return ctx.respond(200, RANDOM_TEXT, { 'content-type': 'text/plain' })
  }
  if (ctx.path === '/respond-list') return ctx.respond(200, LIST)
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
          res.write(RANDOM_TEXT)
          res.end()
        },
      })
    ) as Server
  )
  servers.push(node)
  base.node = node.url

  const app = express()
  app.use(toExpress(compress()))
  app.get('/file-random', (_req, res) => res.sendFile(FILE))
  const ex = await listen(createServer(app) as Server)
  servers.push(ex)
  base.express = ex.url

  const fastify = Fastify()
  apps.push(fastify)
  await fastify.register(aikitFastify, { use: [compress()] })
  fastify.get('/stream-random', (_req, reply) => {
    reply.header('content-type', 'text/plain').send(Readable.from([RANDOM_TEXT]))
  })
  base.fastify = await fastify.listen({ port: 0, host: '127.0.0.1' })
})

afterAll(async () => {
  await Promise.all([...servers.map((s) => s.close()), ...apps.map((a) => a.close())])
  rmSync(dir, { recursive: true, force: true })
})

describe('compress() with a body piece over 16 KiB compressed', () => {
  it.each(['gzip', 'br'])('node: ctx.respond of 100 KB of text (%s) completes', async (enc) => {
    const r = await rawRequest(`${base.node}/respond-random`, { 'accept-encoding': enc })
    expect(r.headers['content-encoding']).toBe(enc)
    expect(decodeBody(r)).toBe(RANDOM_TEXT)
  })

  it.each(['gzip', 'br'])('node: ctx.respond of a 600 KB JSON list (%s) completes', async (enc) => {
    const r = await rawRequest(`${base.node}/respond-list`, { 'accept-encoding': enc })
    expect(r.headers['content-encoding']).toBe(enc)
    expect(JSON.parse(decodeBody(r))).toEqual(LIST)
  })

  it('node: one res.write of 100 KB of text (gzip) completes', async () => {
    const r = await rawRequest(`${base.node}/write-random`, { 'accept-encoding': 'gzip' })
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(decodeBody(r)).toBe(RANDOM_TEXT)
  })

  it('express: res.sendFile of a 100 KB text file (gzip) completes', async () => {
    const r = await rawRequest(`${base.express}/file-random`, { 'accept-encoding': 'gzip' })
    expect(r.status).toBe(200)
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(decodeBody(r)).toBe(RANDOM_TEXT)
  })

  it('fastify: reply.send(stream) of 100 KB of text (gzip) completes', async () => {
    const r = await rawRequest(`${base.fastify}/stream-random`, { 'accept-encoding': 'gzip' })
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(decodeBody(r)).toBe(RANDOM_TEXT)
  })

  it('next: a route answering Response.json of ~100 KB of records (gzip) completes', async () => {
    const records = Array.from({ length: 1500 }, (_, i) => ({
      id: randomBytes(16).toString('hex'),
      n: i,
      token: randomBytes(12).toString('base64'),
    }))
    const handler = withAikit(() => Response.json(records), compress())
    const res = await handler(
      new Request('http://127.0.0.1/api', { headers: { 'accept-encoding': 'gzip' } }),
      {}
    )
    expect(res.headers.get('content-encoding')).toBe('gzip')
    let timer: NodeJS.Timeout | undefined
    const body = await Promise.race([
      res.arrayBuffer(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('body never completed')), 5000)
      }),
    ]).finally(() => clearTimeout(timer))
    expect(JSON.parse(String(zlib.gunzipSync(Buffer.from(body))))).toEqual(records)
  })
})
