/**
 * The blocked-key cache against this instance's own changes, and the per-limit waits it serves:
 * - `block` and `penalize` on this instance drop its cached denial of the key at once (as `reset`,
 *   `unblock` and refunds do), so its next check reports the block (`blocked: true`, the block's
 *   wait) or the longer wait, not the denial cached before;
 * - a cached denial's per-limit `limits[i].retryAfterMs` are as up to date as its top-level
 *   `retryAfterMs` (what has passed since is taken off, never below 0).
 * README: a cached denial carries "an up-to-date `retryAfterMs`"; a block's results say
 * `blocked: true`, their headers agreeing with `Retry-After`.
 */
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter, type LimitOptions } from '@aikit/ratelimit'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)
const clients: ReturnType<RedisServer['client']>[] = []
beforeAll(async () => {
  server = await startRedis()
  for (let i = 0; i < 2; i++) {
    const c = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(c)
    clients.push(c)
  }
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

/** One limiter per client (two instances sharing one Redis), each with its blocked-key cache. */
const make = (limits: LimitOptions[], maxAgeMs = 1000) =>
  clients.map((c) =>
    createRateLimiter({
      store: redisStore(c, { prefix: `c${runId}`, commandTimeoutMs: 5_000 }),
      prefix: 'cd',
      limits,
      onStoreError: 'closed',
      blockCache: { maxAgeMs },
    })
  )

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Waits until the current fixed window of `windowMs` (aligned to the epoch on Redis's clock, the
 * same host's) has 3 s left: near its end the second check falls in the next window, or its wait
 * is down to 0 by the next call.
 */
async function awayFromWindowEnd(windowMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs)
  if (left < 3_000) await sleep(left + 50)
}

describe("a cached denial and this instance's own changes", () => {
  it('a block made here is reported by the next check here, not hidden behind the cached denial', async () => {
    const [here, other] = make([{ algorithm: 'fixed-window', limit: 1, window: '10s' }])
    const key = 'own-block'
    await awayFromWindowEnd(10_000)
    expect((await here!.check(key)).allowed).toBe(true)
    const denied = await here!.check(key)
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBeLessThanOrEqual(10_000)
    await here!.block(key, 3_600_000)
    const there = await other!.check(key)
    expect(there).toMatchObject({ allowed: false, blocked: true })
    const after = await here!.check(key)
    expect(after).toMatchObject({ allowed: false, blocked: true, remaining: 0 })
    expect(after.cached).toBeUndefined()
    expect(after.retryAfterMs).toBeGreaterThan(3_500_000)
    expect(after.limits[0]!.retryAfterMs).toBe(after.retryAfterMs)
    // Then cached: still the block.
    const again = await here!.check(key)
    expect(again).toMatchObject({ allowed: false, blocked: true, cached: true })
    expect(again.retryAfterMs).toBeGreaterThan(3_500_000)
  })

  it('a penalty charged here is reported by the next check here with its longer wait', async () => {
    const [here] = make([{ algorithm: 'gcra', limit: 10, window: '1h' }])
    const key = 'own-penalty'
    expect((await here!.check(key, { cost: 10 })).allowed).toBe(true)
    const denied = await here!.check(key)
    expect(denied.allowed).toBe(false)
    // One unit drains in 6 minutes; a penalty of 10 more puts it an hour further.
    expect(denied.retryAfterMs).toBeLessThanOrEqual(360_000)
    await here!.penalize(key, 10)
    const after = await here!.check(key)
    expect(after.allowed).toBe(false)
    expect(after.cached).toBeUndefined()
    expect(after.retryAfterMs).toBeGreaterThan(3_600_000)
  })
})

describe("a cached denial's per-limit waits", () => {
  it("each limit's retryAfterMs is taken down as the top-level one is", async () => {
    const [here] = make([
      { algorithm: 'fixed-window', limit: 1, window: '10s' },
      { algorithm: 'gcra', limit: 1, window: '30s' },
    ])
    const key = 'per-limit-wait'
    await awayFromWindowEnd(10_000)
    expect((await here!.check(key)).allowed).toBe(true)
    const first = await here!.check(key)
    expect(first.allowed).toBe(false)
    expect(first.cached).toBeUndefined()
    expect(first.limits[0]!.retryAfterMs).toBeGreaterThan(0)
    expect(first.limits[1]!.retryAfterMs).toBeGreaterThan(first.limits[0]!.retryAfterMs)
    await sleep(50)
    const cached = await here!.check(key)
    expect(cached.cached).toBe(true)
    expect(cached.retryAfterMs).toBeLessThan(first.retryAfterMs)
    for (const i of [0, 1]) {
      expect(cached.limits[i]!.retryAfterMs).toBeLessThan(first.limits[i]!.retryAfterMs)
    }
    // The longest limit's wait is the result's; the others keep their distance to it.
    expect(cached.limits[1]!.retryAfterMs).toBe(cached.retryAfterMs)
    expect(cached.limits[1]!.retryAfterMs - cached.limits[0]!.retryAfterMs).toBe(
      first.limits[1]!.retryAfterMs - first.limits[0]!.retryAfterMs
    )
  })

  it('a limit whose own wait is over reads 0 while the denial is still served', async () => {
    const [here] = make(
      [
        { algorithm: 'fixed-window', limit: 1, window: 200 },
        { algorithm: 'gcra', limit: 1, window: '30s' },
      ],
      10_000
    )
    const key = 'wait-over'
    expect((await here!.check(key)).allowed).toBe(true)
    const first = await here!.check(key)
    expect(first.allowed).toBe(false)
    expect(first.limits[0]!.retryAfterMs).toBeLessThanOrEqual(200)
    await sleep(first.limits[0]!.retryAfterMs + 50)
    const cached = await here!.check(key)
    expect(cached.cached).toBe(true)
    expect(cached.limits[0]!.retryAfterMs).toBe(0)
    expect(cached.limits[1]!.retryAfterMs).toBe(cached.retryAfterMs)
  })
})
