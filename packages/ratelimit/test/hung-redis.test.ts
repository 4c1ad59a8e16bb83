/**
 * "Store calls time out fast": a redis-server that accepts connections but answers nothing
 * (`CLIENT PAUSE ALL`) with every option at its default (`redisStore(client)`: 50 ms command
 * timeout, breaker, batching; `onStoreError: 'memory'`; ioredis' defaults). Every check is
 * answered by the `onStoreError` policy (degraded) instead of waiting for Redis. Each check is
 * bounded by a client-side abort far above the timeout, so a hang fails the test instead of
 * stalling it; no duration is asserted.
 */
import { redisStore } from '@aikit/core/redis'
import { type CheckResult, createRateLimiter, type StoreErrorPolicy } from '@aikit/ratelimit'
import { type RedisServer, rawCommand, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, describe, expect, it } from 'vitest'

/** Far above the 50 ms default timeout: only a check that waits for Redis itself reaches it. */
const HANG_BOUND_MS = 2_000
/** Long enough to outlast every check of a test; the server is stopped afterwards anyway. */
const PAUSE_MS = 10_000

let server: RedisServer | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

/** `promise`, or the string `'hung'` if it has not settled within `HANG_BOUND_MS`. */
function bounded<T>(promise: Promise<T>): Promise<T | 'hung'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), HANG_BOUND_MS)
  })
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer))
}

async function pausedRedis(onStoreError?: StoreErrorPolicy) {
  server = await startRedis()
  const client = server.client()
  await whenReady(client)
  const limiter = createRateLimiter({
    store: redisStore(client),
    limits: [{ limit: 100, window: '1m' }],
    ...(onStoreError === undefined ? {} : { onStoreError }),
  })
  // Healthy first: the script is loaded and an answer comes from Redis (a few tries, since the
  // 50 ms default timeout may catch the first call on a busy machine).
  let healthy = false
  for (let i = 0; i < 20 && !healthy; i++) {
    const result = await limiter.check('warm-up', { cost: 0 }).catch(() => undefined)
    healthy = result !== undefined && result.degraded === undefined
    if (!healthy) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  expect(healthy).toBe(true)
  await rawCommand(server.port, ['CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL'])
  return { limiter, before: limiter.stats() }
}

describe('a paused redis-server (answers nothing), default options', () => {
  it("checks are answered degraded by the default 'memory' policy, never left waiting", async () => {
    const { limiter, before } = await pausedRedis()
    // A burst (batched into one round trip) and then one check at a time (the breaker opens).
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => bounded(limiter.check('user')))
    )
    const serial: (CheckResult | 'hung')[] = []
    for (let i = 0; i < 10; i++) serial.push(await bounded(limiter.check('user')))
    for (const result of [...burst, ...serial]) {
      expect(result).not.toBe('hung')
      expect(result).toMatchObject({ allowed: true, degraded: true, reason: 'store-error' })
    }
    const after = limiter.stats()
    expect(after.degraded - before.degraded).toBe(30)
    expect(after.denied).toBe(0)
  })

  it("with onStoreError: 'closed' checks reject with STORE_TIMEOUT / STORE_UNAVAILABLE (503)", async () => {
    const { limiter } = await pausedRedis('closed')
    const outcomes = []
    for (let i = 0; i < 8; i++) {
      outcomes.push(
        await bounded(
          limiter.check('user').then(
            () => 'allowed',
            (error: { code?: string; status?: number }) => `${error.code} ${error.status}`
          )
        )
      )
    }
    // Timeouts first; once the breaker opens, the store is reported unavailable without a call.
    expect(outcomes[0]).toBe('STORE_TIMEOUT 503')
    for (const outcome of outcomes) expect(outcome).toMatch(/^STORE_(TIMEOUT|UNAVAILABLE) 503$/)
    expect(limiter.stats().degraded).toBe(0)
  })
})
