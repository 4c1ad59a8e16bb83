/**
 * Recovery with every option at its default — `redisStore(client)` (breaker: 5 failures, `openMs`
 * 500), ioredis' own reconnect strategy (50 ms more per attempt, up to 2 s), `onStoreError:
 * 'memory'`: redis-server is killed under a steady trickle of checks (answered degraded, no
 * error), restarted, and checks come from Redis again after a bounded number of polls.
 *
 * The bound: after a ~700 ms outage ioredis' next reconnect is at most ~300 ms away, and the
 * breaker probes within `openMs` (500 ms) of that, so under 1 s; 60 polls 50 ms apart (3 s of
 * sleeps alone) leave room for a loaded machine without asserting a duration.
 */
import type { StoreEventInfo } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type CheckResult, createRateLimiter } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterEach, expect, it } from 'vitest'

const POLL_MS = 50
const MAX_POLLS = 60

let redis: RedisServer | undefined
afterEach(async () => {
  await redis?.stop()
  redis = undefined
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Checks every `POLL_MS` until one is answered by Redis (not degraded); at most `MAX_POLLS`. */
async function untilFromRedis(check: () => Promise<CheckResult>): Promise<boolean> {
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    const result = await check()
    expect(result.allowed).toBe(true)
    if (result.degraded === undefined) return true
    await sleep(POLL_MS)
  }
  return false
}

it('resumes limiting on Redis after an outage with the default breaker and reconnect', async () => {
  redis = await startRedis()
  const client = redis.client()
  await whenReady(client)
  const limiter = createRateLimiter({
    store: redisStore(client),
    limits: [{ limit: 1_000_000, window: '1m' }],
  })
  const events: string[] = []
  limiter.on('degraded', (info: StoreEventInfo) => events.push(`degraded:${info.store}`))
  limiter.on('recovered', (info: StoreEventInfo) => events.push(`recovered:${info.store}`))
  // Healthy first (the 50 ms default timeout may catch the very first call, which loads the
  // script, on a busy machine).
  expect(await untilFromRedis(() => limiter.check('user'))).toBe(true)

  await redis.kill()
  // The outage is seen: checks keep answering (degraded) and the breaker opens.
  for (let i = 0; i < 25; i++) {
    const result = await limiter.check('user')
    expect(result.allowed).toBe(true)
    await sleep(20)
  }
  expect(limiter.stats().degraded).toBeGreaterThan(0)
  expect(events).toContain('degraded:redis')

  await redis.restart()
  expect(await untilFromRedis(() => limiter.check('user'))).toBe(true)
  expect(events.at(-1)).toBe('recovered:redis')
  // The state is on Redis again.
  expect(await client.keys('*rl:gcra*')).not.toEqual([])
})
