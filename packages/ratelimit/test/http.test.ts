import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { rateLimit } from '@aikit/ratelimit'
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

async function expressApp(): Promise<string> {
  const app = express()
  app.use(toExpress(rateLimit({ limits: [{ limit: 2, window: '1m' }] })))
  app.get('/', (_req, res) => {
    res.json({ ok: true })
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function fastifyApp(): Promise<string> {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: [rateLimit({ limits: [{ limit: 2, window: '1m' }] })] })
  app.get('/', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

describe.each([
  ['Express', expressApp],
  ['Fastify', fastifyApp],
])('rateLimit over real HTTP on %s', (_name, start) => {
  it('allows the limit, then answers 429 with headers and the JSON shape; XFF is ignored', async () => {
    const base = await start()
    const statuses: number[] = []
    let last: Response | undefined
    for (let i = 0; i < 3; i++) {
      // A different spoofed X-Forwarded-For on every request: with no trusted proxy it must not
      // change the key (all three requests come from 127.0.0.1).
      last = await fetch(base, { headers: { 'x-forwarded-for': `203.0.113.${i}` } })
      statuses.push(last.status)
      if (i < 2) await last.text()
    }
    expect(statuses).toEqual([200, 200, 429])
    expect(last?.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(last?.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60')
    expect(last?.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/)
    expect(last?.headers.get('content-type')).toContain('application/json')
    const body = (await last?.json()) as { error: { code: string } }
    expect(body.error.code).toBe('RATE_LIMITED')
  })
})
