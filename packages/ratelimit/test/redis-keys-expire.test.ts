/**
 * Every key the limiter writes on Redis expires: after check, reserve + settle / release, penalize,
 * block and reset (its reset stamps) on all four algorithms, no key is left without a TTL (PTTL -1) and none lives longer
 * than 2 windows, so idle keys never pile up on the server.
 */
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

describe('redis key expiry', () => {
  it('no key without a TTL, none beyond 2 windows, after check/reserve/settle/penalize/block/reset', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const store = redisStore(client, { commandTimeoutMs: 2_000 })
    const W = 7_000
    const limiter = createRateLimiter({
      store,
      limits: [
        { algorithm: 'gcra', limit: 5, window: W },
        { algorithm: 'fixed-window', limit: 5, window: W },
        { algorithm: 'sliding-window', limit: 5, window: W },
        { algorithm: 'token-bucket', limit: 5, window: W },
      ],
    })
    await limiter.check('a')
    const r = await limiter.reserve('b', 3)
    await r.settle(9)
    const r2 = await limiter.reserve('c', 3)
    await r2.release()
    await limiter.penalize('d', 100)
    await limiter.block('e', 3_000)
    await limiter.check('e')
    const r3 = await limiter.reserve('f', 3)
    await limiter.reset('f')
    await r3.release()
    await limiter.reset('g')
    expect((await client.keys('*:reset')).length).toBe(8)
    const keys = await client.keys('*')
    expect(keys.length).toBeGreaterThan(0)
    const bad: string[] = []
    for (const k of keys) {
      const pttl = await client.pttl(k)
      if (pttl === -1 || pttl > 2 * W) bad.push(`${k}: ${pttl}`)
    }
    expect(bad).toEqual([])
    client.disconnect()
  })
})
