/**
 * Several `rateLimit` middlewares on one request (a per-client limit, then a per-API-key one) add
 * to the rate-limit headers instead of replacing them: the draft `RateLimit` / `RateLimit-Policy`
 * lists carry every middleware's items in chain order under distinct names (a lone middleware's
 * headers are unchanged), and `X-RateLimit-*` describe the tightest limit of them all. Checked on
 * Express, Fastify and node:http, and in memory for the naming rules.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import { compose, type Middleware } from '@aikit/core'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

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
  app.get('/ok', (_req, res) => {
    res.json({ ok: true })
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const onFastify: Start = async (use) => {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use, errorHandler: true })
  app.get('/ok', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const onNode: Start = async (use) => {
  const handler = (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'application/json')
    res.end('{"ok":true}')
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
])('two rateLimit middlewares in one chain on %s', (_name, start) => {
  it('the answer before the first limit’s 429 reports that limit exhausted, beside the second', async () => {
    const base = await start([
      rateLimit({ limits: [{ limit: 2, window: '1m' }], headers: 'both' }),
      rateLimit({
        limits: [{ limit: 10, window: '1m' }],
        keyBy: () => 'api-key-1',
        prefix: 'rl2',
        headers: 'both',
      }),
    ])
    await (await fetch(`${base}/ok`)).text()
    const second = await fetch(`${base}/ok`)
    await second.text()
    expect(second.status).toBe(200)
    expect(second.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60, "rl2";q=10;w=60')
    expect(second.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+, "rl2";r=8;t=\d+$/)
    expect(second.headers.get('x-ratelimit-limit')).toBe('2')
    expect(second.headers.get('x-ratelimit-remaining')).toBe('0')
    const third = await fetch(`${base}/ok`)
    await third.text()
    expect(third.status).toBe(429)
  })
})

async function send(mw: Middleware): Promise<Record<string, string>> {
  const ctx = new TestContext()
  await ctx.run(mw)
  return ctx.written!.headers
}

describe('policy names of chained rateLimit middlewares', () => {
  it('a lone middleware keeps its "default" / "p0"… names', async () => {
    expect(
      (await send(rateLimit({ limits: [{ limit: 3, window: '1m' }] })))['ratelimit-policy']
    ).toBe('"default";q=3;w=60')
    const two = await send(
      rateLimit({
        limits: [
          { limit: 3, window: '1s' },
          { limit: 9, window: '1h' },
        ],
      })
    )
    expect(two['ratelimit-policy']).toBe('"p0";q=3;w=1, "p1";q=9;w=3600')
    expect(two.ratelimit).toMatch(/^"p0";r=2;t=\d+, "p1";r=8;t=\d+$/)
  })

  it('a later middleware keeps free names, else uses its prefix, then its position', async () => {
    const two = (limit: number) =>
      [
        { limit, window: '1m' },
        { limit: limit + 1, window: '1h' },
      ] as const
    const headers = await send(
      compose(
        rateLimit({ limits: [{ limit: 3, window: '1m' }] }),
        rateLimit({ limits: two(4), keyBy: () => 'k1' }),
        rateLimit({ limits: two(6), keyBy: () => 'k2', prefix: 'per-key' }),
        rateLimit({ limits: [{ limit: 8, window: '1m' }], keyBy: () => 'k3' }),
        rateLimit({ limits: [{ limit: 9, window: '1m' }], keyBy: () => 'k4' }),
        rateLimit({
          limiter: createRateLimiter({ limits: [{ limit: 10, window: '1m' }] }),
          keyBy: () => 'k5',
        })
      )
    )
    expect(headers['ratelimit-policy']).toBe(
      '"default";q=3;w=60, "p0";q=4;w=60, "p1";q=5;w=3600, "per-key-p0";q=6;w=60, ' +
        '"per-key-p1";q=7;w=3600, "rl";q=8;w=60, "rl-5";q=9;w=60, "limit-6";q=10;w=60'
    )
    expect(headers.ratelimit).toMatch(
      new RegExp(
        '^"default";r=2;t=\\d+, "p0";r=3;t=\\d+, "p1";r=4;t=\\d+, "per-key-p0";r=5;t=\\d+, ' +
          '"per-key-p1";r=6;t=\\d+, "rl";r=7;t=\\d+, "rl-5";r=8;t=\\d+, "limit-6";r=9;t=\\d+$'
      )
    )
  })

  it('X-RateLimit-* describe the tightest limit of every middleware (first on ties)', async () => {
    const chain = compose(
      rateLimit({ limits: [{ limit: 5, window: '1m' }], headers: 'legacy' }),
      rateLimit({ limits: [{ limit: 2, window: '1m' }], headers: 'legacy', keyBy: () => 'k' }),
      rateLimit({ limits: [{ limit: 9, window: '1m' }], headers: 'legacy', keyBy: () => 'k' })
    )
    const headers = await send(chain)
    expect(headers['x-ratelimit-limit']).toBe('2')
    expect(headers['x-ratelimit-remaining']).toBe('1')
    expect(headers.ratelimit).toBeUndefined()
  })
})
