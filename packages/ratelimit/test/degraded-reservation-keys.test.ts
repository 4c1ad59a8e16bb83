/**
 * A reservation granted by the `'memory'` fallback (the store unavailable) is settled or released
 * on the fallback under the keys it was taken with, whatever the store's own key prefix: the
 * fallback holds its state under the keys the store builds (`app:{u}:rl:...`), not under its own
 * (`aikit:{u}:rl:...`).
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type RateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterEach, describe, expect, it, vi } from 'vitest'

let server: RedisServer | undefined

afterEach(async () => {
  await server?.stop()
  server = undefined
})

const limits = [{ limit: 10, window: '1h' }] as const

/** A limiter on a redis-server with `prefix`, whose server is then killed (outage). */
async function limiterOnKilledRedis(prefix: string): Promise<RateLimiter> {
  server = await startRedis()
  const client = server.client({ maxRetriesPerRequest: 1, enableOfflineQueue: false })
  await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000, interval: 20 })
  const limiter = createRateLimiter({
    store: redisStore(client, { prefix, commandTimeoutMs: 2_000 }),
    limits,
  })
  await server.kill()
  return limiter
}

/** A limiter on a memory store with `prefix`, which is then closed. */
async function limiterOnClosedMemory(prefix: string): Promise<RateLimiter> {
  const store = memoryStore({ prefix })
  const limiter = createRateLimiter({ store, limits })
  await store.close()
  return limiter
}

describe.each([
  ['a killed redis-server', limiterOnKilledRedis],
  ['a closed memory store', limiterOnClosedMemory],
])("reservations granted by the 'memory' fallback, on %s with its own prefix", (_, make) => {
  it('release gives the reserved units back', async () => {
    const limiter = await make('app')
    const hold = await limiter.reserve('u', 10)
    expect(hold).toMatchObject({ allowed: true, result: { degraded: true } })
    expect((await limiter.check('u')).allowed).toBe(false) // all 10 held on the fallback
    await hold.release()
    const after = await limiter.check('u', { cost: 0 })
    expect(after.degraded).toBe(true)
    expect(after.remaining).toBe(10)
    expect(limiter.stats().adjustFailures).toBe(0)
  })

  it('settle below the estimate refunds the difference', async () => {
    const limiter = await make('app')
    const hold = await limiter.reserve('w', 8)
    expect(hold).toMatchObject({ allowed: true, result: { degraded: true, remaining: 2 } })
    await hold.settle(3)
    expect((await limiter.check('w', { cost: 0 })).remaining).toBe(7)
  })

  it('settle above the estimate charges the excess', async () => {
    const limiter = await make('app')
    const hold = await limiter.reserve('v', 1)
    expect(hold).toMatchObject({ allowed: true, result: { degraded: true } })
    await hold.settle(10)
    expect((await limiter.check('v', { cost: 0 })).remaining).toBe(0)
  })
})
