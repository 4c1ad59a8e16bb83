/**
 * A rate limiter on Redis with `onStoreError: 'memory'`, observed by the metrics, over Express:
 * when Redis is killed the fallback keeps answering (200s, then a 429 at the limit, never a 5xx),
 * `aikit_store_degraded{store="ratelimit:chat"}` goes 0 → 1 → 0 across the outage, and decisions
 * are counted throughout.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { redisStore } from '@aikit/core/redis'
import { createMetrics, metricsHandler, observeRateLimiter } from '@aikit/observability'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'

let redis: RedisServer | undefined
let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  await redis?.stop()
  server = undefined
  redis = undefined
})

function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}

describe("rateLimit with Redis down (onStoreError: 'memory') and its metrics, over Express", () => {
  it('serves from the fallback, reports degraded headers-wise, and the degraded gauge follows the outage', async () => {
    redis = await startRedis()
    const client = redis.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    await whenReady(client)
    const limiter = createRateLimiter({
      // 1 s: the healthy checks are not a timeout on a busy machine (the dead server's calls fail
      // on their own, after one reconnection attempt).
      store: redisStore(client, { commandTimeoutMs: 1_000, breaker: { openMs: 200 } }),
      limits: [{ limit: 3, window: '1m' }],
      onStoreError: 'memory',
    })
    await limiter.check('warm-up', { cost: 0 })
    const metrics = createMetrics({ key: false })
    observeRateLimiter(metrics, limiter, 'chat')
    const app = express()
    app.use(toExpress(metricsHandler(metrics), rateLimit({ limiter })))
    app.get('/', (_req, res) => {
      res.json({ ok: true })
    })
    server = createServer(app)
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const scrape = async () => (await fetch(`${base}/metrics`)).text()

    expect((await fetch(base)).status).toBe(200)
    expect(sample(await scrape(), 'aikit_store_degraded{store="ratelimit:chat"}')).toBe(0)

    await redis.kill()
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const r = await fetch(base)
      await r.text()
      statuses.push(r.status)
    }
    // The fallback starts empty: 3 allowed, then 429 (never a 5xx).
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200])
    expect(statuses.at(-1)).toBe(429)
    const during = await scrape()
    expect(sample(during, 'aikit_store_degraded{store="ratelimit:chat"}')).toBe(1)
    expect(
      sample(during, 'aikit_ratelimit_decisions_total{limiter="chat",decision="allowed"}')
    ).toBe(4)

    await redis.restart()
    // Recovery: within a bounded wait, requests come from Redis again and the gauge drops to 0.
    let gauge: number | undefined = 1
    for (let end = Date.now() + 15_000; Date.now() < end && gauge !== 0; ) {
      await new Promise((r) => setTimeout(r, 100))
      await (await fetch(base)).text()
      gauge = sample(await scrape(), 'aikit_store_degraded{store="ratelimit:chat"}')
    }
    expect(gauge).toBe(0)
  }, 30_000)
})
