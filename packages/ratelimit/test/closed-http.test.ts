/**
 * `onStoreError: 'closed'` over real HTTP (Express and Fastify): a store error is answered 503
 * with the kit's JSON error (`STORE_UNAVAILABLE` when redis-server is down, `STORE_TIMEOUT` when
 * it answers nothing) and its generic message, plus `Retry-After: 1` (the circuit is not open: no
 * longer wait is known), never 429, and the route is not reached.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import type { Middleware } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import { type RedisServer, rawCommand, startRedis, whenReady } from '@aikit/testing/redis'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'

let redis: RedisServer | undefined
let server: Server | undefined
let app: FastifyInstance | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  await app?.close()
  await redis?.stop()
  server = undefined
  app = undefined
  redis = undefined
})

async function onExpress(mw: Middleware, routeHits: { n: number }): Promise<string> {
  const ex = express()
  ex.use(toExpress(mw))
  ex.get('/', (_req, res) => {
    routeHits.n++
    res.json({ ok: true })
  })
  server = createServer(ex)
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

async function onFastify(mw: Middleware, routeHits: { n: number }): Promise<string> {
  app = Fastify({ logger: false })
  await app.register(aikitFastify, { use: [mw] })
  app.get('/', async () => {
    routeHits.n++
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`
}

type Outage = 'killed' | 'paused'

describe.each([
  ['Express', onExpress],
  ['Fastify', onFastify],
])("onStoreError: 'closed' on %s", (_name, start) => {
  it.each<[Outage, string]>([
    ['killed', 'STORE_UNAVAILABLE'],
    ['paused', 'STORE_TIMEOUT'],
  ])('redis-server %s: 503 %s, JSON error, Retry-After, never 429', async (outage, code) => {
    redis = await startRedis()
    // Without the offline queue a command to a dead server fails at once (STORE_UNAVAILABLE);
    // ioredis' default would queue it until the store's timeout (STORE_TIMEOUT).
    const client = redis.client({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: outage === 'paused',
    })
    await whenReady(client)
    const limiter = createRateLimiter({
      // 1 s (default 50) so that the healthy requests below are not a timeout on a busy machine
      // (the paused server's calls still time out: the pause lasts 10 s).
      store: redisStore(client, { commandTimeoutMs: 1_000 }),
      limits: [{ limit: 1, window: '1m' }],
      onStoreError: 'closed',
    })
    await limiter.check('warm-up', { cost: 0 }) // loads the script
    const routeHits = { n: 0 }
    const url = await start(rateLimit({ limiter }), routeHits)
    expect((await fetch(url)).status).toBe(200) // Redis answers: the one allowed request

    if (outage === 'killed') await redis.kill()
    else await rawCommand(redis.port, ['CLIENT', 'PAUSE', '10000', 'ALL'])
    const res = await fetch(url)
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('retry-after')).toBe('1')
    const body = (await res.json()) as { error: { code: string; message: string } }
    // Neither the cause (a timeout, a refused connection) nor a stack trace reaches the client.
    expect(body).toEqual({ error: { code, message: 'Service temporarily unavailable' } })
    // Every further request is 503 too (the breaker may now answer STORE_UNAVAILABLE), not 429.
    for (let i = 0; i < 3; i++) {
      const again = await fetch(url)
      expect(again.status).toBe(503)
      expect(again.headers.get('retry-after')).toBe('1')
      expect(((await again.json()) as { error: { code: string } }).error.code).toMatch(
        /^STORE_(UNAVAILABLE|TIMEOUT)$/
      )
    }
    expect(routeHits.n).toBe(1)
  })
})
