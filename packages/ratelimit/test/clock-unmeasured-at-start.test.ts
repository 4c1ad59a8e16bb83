/**
 * A limiter whose store's clock is not measured yet (a Redis store created while Redis was down:
 * its first `TIME` failed) does not take that failure as final: a result the store serves waits
 * for the measurement then out, so `resetAt - limiter.now()` (the RateLimit `t`) is a wait, not the
 * skew between this machine and Redis. Once the clock is known, no check asks the store again.
 */
import { type AtomicOp, memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, rateLimit } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { TestContext } from './test-context.js'

const HOUR = 3_600_000
const WINDOW = 60_000

afterEach(() => {
  vi.restoreAllMocks()
})

/**
 * A remote store whose ops run on a server clock an hour ahead, and whose clock is unmeasured:
 * its first measurement failed; every later `clockReady()` finds one out that answers a moment
 * later (the one sent on reconnect).
 */
function unmeasuredStore() {
  const serverNow = () => Date.now() + HOUR
  const mem = memoryStore({ now: serverNow })
  let known = false
  let asked = 0
  const store: Store = {
    ...mem,
    kind: 'redis',
    local: false,
    // A plain function: no `sync` path, the limiter takes the remote one.
    run: <I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I) => mem.run(op, keys, input),
    now: () => (known ? serverNow() : Date.now()),
    clockReady: () => {
      asked++
      if (known) return Promise.resolve(true)
      if (asked === 1) return Promise.resolve(false)
      return new Promise<boolean>((resolve) =>
        setTimeout(() => {
          known = true
          resolve(true)
        }, 5)
      )
    },
  }
  return { store, asked: () => asked }
}

describe('limiter on a store whose first clock measurement failed', () => {
  it('check: the result waits for the next measurement; once known, checks do not ask again', async () => {
    const { store, asked } = unmeasuredStore()
    const limiter = createRateLimiter({ store, limits: [{ limit: 5, window: WINDOW }] })
    await new Promise((resolve) => setTimeout(resolve, 0)) // the first measurement failed
    expect(asked()).toBe(1)
    const result = await limiter.check('a')
    const wait = (result.limits[0]?.resetAt ?? 0) - limiter.now()
    expect(wait).toBeGreaterThanOrEqual(0)
    expect(wait).toBeLessThanOrEqual(WINDOW)
    const afterKnown = asked()
    for (let i = 0; i < 10; i++) await limiter.check('b')
    expect(asked()).toBe(afterKnown)
  })

  it('reserve: the result waits for the next measurement', async () => {
    const { store } = unmeasuredStore()
    const limiter = createRateLimiter({ store, limits: [{ limit: 5, window: WINDOW }] })
    await new Promise((resolve) => setTimeout(resolve, 0))
    const reservation = await limiter.reserve('a', 1)
    const wait = (reservation.result.limits[0]?.resetAt ?? 0) - limiter.now()
    expect(wait).toBeGreaterThanOrEqual(0)
    expect(wait).toBeLessThanOrEqual(WINDOW)
  })
})

describe('limiter on a Redis store created while Redis is down', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('an instance an hour behind: the first response after Redis is back has RateLimit t on the store clock', async () => {
    await server.kill()
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR)
    const client = server.client({
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    })
    const store = redisStore(client, { commandTimeoutMs: 1_000, prefix: 'late-clock' })
    try {
      const mw = rateLimit({ store, limits: [{ limit: 5, window: '1m' }], headers: 'both' })
      expect(await store.clockReady()).not.toBe(true) // the limiter's first TIME failed
      await server.restart()
      await whenReady(client)
      const ctx = new TestContext()
      await ctx.run(mw)
      const header = ctx.written?.headers.ratelimit ?? ''
      const t = Number(/t=(\d+)/.exec(header)?.[1])
      // a 5/min GCRA after one request is whole again within 12 s
      expect(t).toBeLessThanOrEqual(60)
    } finally {
      vi.restoreAllMocks()
      await store.close()
      client.disconnect()
    }
  }, 20_000)
})
