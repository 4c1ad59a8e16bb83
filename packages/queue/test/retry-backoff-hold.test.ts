/**
 * The worker holds the budget through a retry's backoff (`retry-after` + holdTtl); the enqueuing
 * queue object's renewal (expiry = now + holdTtl) no longer runs for a delayed job, where it cut
 * that back: with the enqueuer gone (a deploy), the hold lapsed mid-backoff.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("a retry's backoff", () => {
  it('stays held through the backoff the worker extended it for, even once the enqueuer is gone', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const enqueuer = h.queue({ name, budget, holdTtl: 1000, attempts: 2, pollInterval: 100 })
    h.worker({ name, budget })
    h.provider.reset()
    h.provider.failNext(1, { status: 429, retryAfter: 4 })
    const { jobId } = await enqueuer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'rh',
      params: messages('back off'),
    })
    const follower = h.queue({ name })
    for await (const e of follower.follow(jobId)) if (e.type === 'retry') break
    // The worker extended the hold to 4 s + 1 s from now. The enqueuer keeps renewing for a while
    // (its sweep runs every ~333 ms), then goes away, as in a deploy.
    await sleep(700)
    await enqueuer.close()
    await sleep(1800) // 2.5 s into the 4 s backoff: well within the worker's 5 s
    const held = (await budget.status('rh')).tightest?.heldMicros ?? 0
    expect(held).toBeGreaterThan(0)
  }, 20_000)
})
