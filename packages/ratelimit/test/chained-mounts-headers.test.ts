/**
 * Chained `rateLimit` middlewares in separate mounts (Express app-level + route-level, Fastify
 * `aikitFastify` + `aikitRoute`, node:http) add up on the request: the 200 and the second limit's 429
 * carry both limits' draft items, and `X-RateLimit-*` describe the tightest limit. With mixed header
 * modes, `X-RateLimit-*` (sent when any middleware on the request sends them) still describe the
 * tightest limit of every middleware, a draft-only one included, whichever runs first.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify, aikitRoute } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import { compose, type Middleware } from '@aikit/core'
import { rateLimit } from '@aikit/ratelimit'
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

type Start = (outer: Middleware, inner: Middleware) => Promise<string>

const onExpress: Start = async (outer, inner) => {
  const app = express()
  app.use(toExpress(outer))
  app.get('/ok', toExpress(inner), (_req, res) => {
    res.json({ ok: true })
  })
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const onFastify: Start = async (outer, inner) => {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: [outer], errorHandler: true })
  app.get('/ok', { onRequest: aikitRoute(inner) }, async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

const onNode: Start = async (outer, inner) => {
  const handler = (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'application/json')
    res.end('{"ok":true}')
  }
  const server = createServer(toNodeHandler(outer, inner, { handler }))
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe.each([
  ['Express (two mounts)', onExpress],
  ['Fastify (aikitFastify + aikitRoute)', onFastify],
  ['node:http', onNode],
])('chained rateLimit on %s', (_name, start) => {
  it('200 then the second limit’s 429: both carry both limits, X-RateLimit-* the tightest', async () => {
    const base = await start(
      rateLimit({ limits: [{ limit: 10, window: '1m' }], headers: 'both' }),
      rateLimit({
        limits: [{ limit: 1, window: '1m' }],
        keyBy: () => 'k',
        prefix: 'inner',
        headers: 'both',
      })
    )
    const first = await fetch(`${base}/ok`)
    await first.text()
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=10;w=60, "inner";q=1;w=60')
    expect(first.headers.get('x-ratelimit-limit')).toBe('1')
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0')
    const second = await fetch(`${base}/ok`)
    await second.text()
    expect(second.status).toBe(429)
    expect(second.headers.get('ratelimit-policy')).toBe('"default";q=10;w=60, "inner";q=1;w=60')
    expect(second.headers.get('ratelimit')).toMatch(/^"default";r=8;t=\d+, "inner";r=0;t=\d+$/)
    expect(second.headers.get('x-ratelimit-limit')).toBe('1')
    expect(second.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(second.headers.get('retry-after')).not.toBeNull()
  })
})

describe('legacy headers with mixed header modes', () => {
  // README: "The legacy headers describe the tightest limit of them all." A per-route limit on
  // the default ('draft') behind an app-level one sending 'both': its 429 must not say requests
  // remain.
  it('a 429 from a draft-only later limit: X-RateLimit-Remaining is 0, not the earlier limit’s', async () => {
    const chain = compose(
      rateLimit({ limits: [{ limit: 10, window: '1m' }], headers: 'both', keyBy: () => 'a' }),
      rateLimit({ limits: [{ limit: 1, window: '1m' }], keyBy: () => 'k', prefix: 'inner' })
    )
    await new TestContext().run(chain)
    const ctx = new TestContext()
    await ctx.run(chain)
    expect(ctx.written!.status).toBe(429)
    expect(ctx.written!.headers.ratelimit).toMatch(/^"default";r=8;t=\d+, "inner";r=0;t=\d+$/)
    expect(ctx.written!.headers['x-ratelimit-remaining']).toBe('0')
    expect(ctx.written!.headers['x-ratelimit-limit']).toBe('1')
  })

  it('an earlier draft-only limit counts for the X-RateLimit-* a later legacy one sends', async () => {
    const chain = compose(
      rateLimit({ limits: [{ limit: 1, window: '1m' }], keyBy: () => 'a' }),
      rateLimit({
        limits: [{ limit: 10, window: '1m' }],
        headers: 'legacy',
        keyBy: () => 'k',
        prefix: 'outer',
      })
    )
    const ctx = new TestContext()
    await ctx.run(chain)
    // The next request meets the first limit's 429: this answer must not say 9 remain.
    expect(ctx.written!.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/)
    expect(ctx.written!.headers['x-ratelimit-limit']).toBe('1')
    expect(ctx.written!.headers['x-ratelimit-remaining']).toBe('0')
  })
})
