/**
 * compress() leaves a partial response alone: a 206, or any response with Content-Range, gets no
 * Content-Encoding. Content-Range counts bytes of the identity representation, so a coded body
 * under it is corrupt for a client that stitches ranges (@fastify/compress skips them too).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toExpress } from '@aikit/adapters/express'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { compress } from '@aikit/core/compress'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeBody, rawRequest } from './compress-raw-client.js'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

/** A compressible 20 KB text file. */
const TEXT = 'lorem ipsum dolor sit amet, '.repeat(720)
const dir = mkdtempSync(join(tmpdir(), 'compress-range-'))
const FILE = join(dir, 'range.txt')
writeFileSync(FILE, TEXT)

const routes: Middleware = async (ctx, next) => {
  if (ctx.path === '/respond-206') {
    return ctx.respond(206, TEXT.slice(0, 5000), {
      'content-type': 'text/plain',
      'content-range': `bytes 0-4999/${TEXT.length}`,
    })
  }
  if (ctx.path === '/ctx-content-range') {
    // A 416 names the full length in Content-Range (RFC 9110 §15.5.17).
    ctx.setHeader('Content-Range', `bytes */${TEXT.length}`)
    return ctx.respond(416, TEXT.slice(0, 5000), { 'content-type': 'text/plain' })
  }
  return next()
}

const servers: ConformanceServer[] = []
const base: Record<string, string> = {}

beforeAll(async () => {
  const node = await listen(
    createServer(
      toNodeHandler(compress(), routes, {
        handler: (_req, res) => {
          res.statusCode = 404
          res.end()
        },
      })
    ) as Server
  )
  servers.push(node)
  base.node = node.url
  const app = express()
  app.use(toExpress(compress()))
  app.get('/file', (_req, res) => res.sendFile(FILE))
  const ex = await listen(createServer(app) as Server)
  servers.push(ex)
  base.express = ex.url
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('compress() and partial content', () => {
  it('express: res.sendFile answering a Range with 206 is not content-coded', async () => {
    const r = await rawRequest(`${base.express}/file`, {
      'accept-encoding': 'gzip',
      range: 'bytes=0-4999',
    })
    expect(r.status).toBe(206)
    expect(r.headers['content-range']).toBe(`bytes 0-4999/${TEXT.length}`)
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(String(r.body)).toBe(TEXT.slice(0, 5000))
  })

  it('express: the same file without Range is still compressed', async () => {
    const r = await rawRequest(`${base.express}/file`, { 'accept-encoding': 'gzip' })
    expect(r.status).toBe(200)
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(decodeBody(r)).toBe(TEXT)
  })

  it('node: ctx.respond(206) with Content-Range is not content-coded', async () => {
    const r = await rawRequest(`${base.node}/respond-206`, { 'accept-encoding': 'gzip' })
    expect(r.status).toBe(206)
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(String(r.body)).toBe(TEXT.slice(0, 5000))
  })

  it('node: a response with a Content-Range set by ctx.setHeader (a 416) is not content-coded', async () => {
    const r = await rawRequest(`${base.node}/ctx-content-range`, { 'accept-encoding': 'gzip' })
    expect(r.status).toBe(416)
    expect(r.headers['content-range']).toBe(`bytes */${TEXT.length}`)
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(String(r.body)).toBe(TEXT.slice(0, 5000))
  })
})
