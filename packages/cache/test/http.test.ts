/**
 * cacheResponse over real HTTP (Express and Fastify through the AI Kit adapters): hits replay the
 * body and headers with X-Cache/Age, subjects never share, and errors, Set-Cookie, private and
 * no-store responses are never cached.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { cacheResponse, createCache } from '@aikit/cache'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'

const servers: Server[] = []
const apps: FastifyInstance[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.map((s) => new Promise((resolve) => s.close(resolve))),
    ...apps.map((a) => a.close()),
  ])
})

/** Sets the subject from an `x-user` header (stands in for an auth middleware). */
const subjectFromHeader: Middleware = async (ctx, next) => {
  const user = ctx.header('x-user')
  if (user !== undefined) ctx.state.subject = user
  await next()
}

interface Counters {
  calls: number
}

async function expressApp(counters: Counters): Promise<string> {
  const app = express()
  app.use(toExpress(subjectFromHeader, cacheResponse({ cache: createCache() })))
  app.get('/data', (req, res) => {
    counters.calls++
    res.set('etag', '"v1"').json({ user: req.header('x-user') ?? null, n: counters.calls })
  })
  app.get('/error', (_req, res) => {
    counters.calls++
    res.status(500).json({ n: counters.calls })
  })
  app.get('/cookie', (_req, res) => {
    counters.calls++
    res.cookie('sid', 'secret').json({ n: counters.calls })
  })
  app.get('/private', (_req, res) => {
    counters.calls++
    res.set('cache-control', 'private, max-age=60').json({ n: counters.calls })
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function fastifyApp(counters: Counters): Promise<string> {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, {
    use: [subjectFromHeader, cacheResponse({ cache: createCache() })],
  })
  app.get('/data', async (req, reply) => {
    counters.calls++
    reply.header('etag', '"v1"')
    return { user: req.headers['x-user'] ?? null, n: counters.calls }
  })
  app.get('/error', async (_req, reply) => {
    counters.calls++
    return reply.code(500).send({ n: counters.calls })
  })
  app.get('/cookie', async (_req, reply) => {
    counters.calls++
    reply.header('set-cookie', 'sid=secret')
    return { n: counters.calls }
  })
  app.get('/private', async (_req, reply) => {
    counters.calls++
    reply.header('cache-control', 'private, max-age=60')
    return { n: counters.calls }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

describe.each([
  ['Express', expressApp],
  ['Fastify', fastifyApp],
])('cacheResponse over real HTTP on %s', (_name, start) => {
  it('MISS then HIT with the same body and headers, per subject; no subject bypasses', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    const get = (user?: string, extra: Record<string, string> = {}) =>
      fetch(`${base}/data?x=1`, { headers: { ...(user ? { 'x-user': user } : {}), ...extra } })
    const first = await get('alice')
    expect(first.headers.get('x-cache')).toBe('MISS')
    const firstBody = await first.text()
    const second = await get('alice')
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('age')).toMatch(/^\d+$/)
    expect(second.headers.get('etag')).toBe('"v1"')
    expect(second.headers.get('content-type')).toContain('application/json')
    expect(await second.text()).toBe(firstBody)
    expect(counters.calls).toBe(1)

    const bob = await get('bob')
    expect(bob.headers.get('x-cache')).toBe('MISS')
    expect(JSON.parse(await bob.text())).toMatchObject({ user: 'bob' })
    expect(counters.calls).toBe(2)

    const anonymous = await get()
    expect(anonymous.headers.get('x-cache')).toBe('BYPASS')
    await anonymous.text()
    const refreshed = await get('alice', { 'cache-control': 'no-cache' })
    expect(refreshed.headers.get('x-cache')).toBe('MISS')
    await refreshed.text()
    expect(counters.calls).toBe(4)
  })

  it('never caches errors, Set-Cookie responses or private responses', async () => {
    const counters = { calls: 0 }
    const base = await start(counters)
    for (const path of ['/error', '/cookie', '/private']) {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${base}${path}`, { headers: { 'x-user': 'alice' } })
        expect(res.headers.get('x-cache')).toBe('MISS')
        await res.text()
      }
    }
    expect(counters.calls).toBe(6)
  })
})
