/**
 * What a route behind `rateLimit` sees, on Express, Fastify and node:http: a route that throws is
 * counted once and its 500 still carries the RateLimit headers; a body-dependent `cost` (read with
 * `ctx.json()`) leaves the body to the route (Express's `req.body`, Fastify's, and on node:http the
 * parsed JSON on `req.body`, the stream being consumed) and a later costlier request gets the 429.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import { rateLimit } from '@aikit/ratelimit'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'

const servers: Server[] = []
const apps: FastifyInstance[] = []
afterEach(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.splice(0).map((s) => new Promise((r) => s.close(r))),
    ...apps.splice(0).map((a) => a.close()),
  ])
})

type Start = (use: Middleware[]) => Promise<string>

const onExpress: Start = async (use) => {
  const app = express()
  app.use(toExpress(...use))
  app.use(express.json())
  app.all('/ok', (req, res) => {
    res.json({ ok: true, body: req.body ?? null })
  })
  app.get('/boom', () => {
    throw new Error('boom')
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const onFastify: Start = async (use) => {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use, errorHandler: true })
  app.all('/ok', async (req) => ({ ok: true, body: req.body ?? null }))
  app.get('/boom', async () => {
    throw new Error('boom')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const onNode: Start = async (use) => {
  const handler = (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    if (req.url === '/boom') throw new Error('boom')
    res.setHeader('content-type', 'application/json')
    // A middleware read the body (`ctx.json()`): the stream is consumed, the JSON on `req.body`.
    if (req.body !== undefined) return res.end(JSON.stringify({ ok: true, body: req.body }))
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      res.end(JSON.stringify({ ok: true, body: body ? JSON.parse(body) : null }))
    })
  }
  const server = createServer(toNodeHandler(...use, { handler }))
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe.each([
  ['Express', onExpress],
  ['Fastify', onFastify],
  ['node:http', onNode],
])('rateLimit edges on %s', (_name, start) => {
  it('a route that throws is counted once and its 500 still carries the RateLimit headers', async () => {
    const base = await start([rateLimit({ limits: [{ limit: 3, window: '1m' }] })])
    const r1 = await fetch(`${base}/boom`)
    await r1.text()
    expect(r1.status).toBe(500)
    expect(r1.headers.get('ratelimit')).toMatch(/^"default";r=2;t=\d+$/)
    const r2 = await fetch(`${base}/ok`)
    await r2.text()
    expect(r2.headers.get('ratelimit')).toMatch(/^"default";r=1;t=\d+$/)
  })

  it('a body-dependent cost (ctx.json) leaves the body readable by the route', async () => {
    const base = await start([
      rateLimit({
        limits: [{ limit: 10, window: '1m' }],
        cost: async (ctx) => (await ctx.json<{ n: number }>()).n,
      }),
    ])
    const r1 = await fetch(`${base}/ok`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 4 }),
      // The route reads the body after the cost function did: bound the wait (a hang fails here).
      signal: AbortSignal.timeout(3_000),
    })
    expect(r1.status).toBe(200)
    expect(r1.headers.get('ratelimit')).toMatch(/^"default";r=6;t=\d+$/)
    expect(await r1.json()).toEqual({ ok: true, body: { n: 4 } })
    const r2 = await fetch(`${base}/ok`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 7 }),
    })
    expect(r2.status).toBe(429)
    const body = (await r2.json()) as { error: { code: string; details: { retryAfterMs: number } } }
    expect(body.error.code).toBe('RATE_LIMITED')
    expect(body.error.details.retryAfterMs).toBeGreaterThan(0)
    expect(r2.headers.get('retry-after')).toMatch(/^[1-9]\d*$/)
  })
})
