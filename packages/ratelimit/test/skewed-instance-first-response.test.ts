/**
 * An instance whose clock is 1 h behind Redis's reports the RateLimit `t` of its FIRST response on
 * the store's clock, as every later one: the limiter starts the Redis store's clock measurement
 * when it is created, so its `TIME` is answered before the first check's reply (it reported
 * `t` ≈ 3600 s on a 1-minute limit: `resetAt` on Redis's clock minus this machine's time).
 */
import { redisStore } from '@aikit/core/redis'
import { rateLimit } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { TestContext } from './test-context.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})
afterEach(() => {
  vi.restoreAllMocks()
})

const HOUR = 3_600_000

describe('a skewed instance, first response', () => {
  it('skewed instance (clock 1 h behind Redis): the first response RateLimit t is on the store clock', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const mw = rateLimit({
      store: redisStore(client, { commandTimeoutMs: 2_000, prefix: 'skew' }),
      limits: [{ limit: 5, window: '1m' }],
      headers: 'both',
    })
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR)
    const ctx = new TestContext()
    await ctx.run(mw)
    vi.restoreAllMocks()
    const header = ctx.written?.headers.ratelimit ?? ''
    const t = Number(/t=(\d+)/.exec(header)?.[1])
    // a 5/min GCRA after one request is whole again within 12 s
    expect(t).toBeLessThanOrEqual(60)
    client.disconnect()
  })
})
