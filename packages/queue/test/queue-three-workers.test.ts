/**
 * Three queue objects and three workers (each with its own connections) on one queue, sharing one
 * budget on a real redis-server. Guaranteed: 30 distinct jobs enqueued from the three objects each
 * run once (one provider call each), the budget is charged once per job with exactly what its
 * answer cost and holds nothing afterwards, and each job's own result is readable from every
 * queue object. (A job taken over after a worker dies: crash.test.ts; identical enqueues:
 * dedupe-across-instances.test.ts.) Nothing here is timed: the test waits for the results.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget, priceOf } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
}, 60_000)
afterAll(async () => {
  await h?.close()
})

describe('three queue objects, three workers', () => {
  it('30 distinct jobs: each runs once, is charged once, and its result is readable from every object', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5_000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 10 }],
    })
    const queues = Array.from({ length: 3 }, () => h.queue({ name, budget }))
    const before = h.provider.count()
    const enq = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        queues[i % 3]!.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'three',
          params: messages(`job ${i}`),
        })
      )
    )
    expect(new Set(enq.map((e) => e.jobId)).size).toBe(30)
    for (let i = 0; i < 3; i++) h.worker({ name, budget, concurrency: 4 })
    const rs = await Promise.all(enq.map((e, i) => queues[(i + 1) % 3]!.result(e.jobId)))
    expect(rs.map((r) => r.text)).toEqual(enq.map((_, i) => `Echo: job ${i}`))
    expect(h.provider.count() - before).toBe(30)
    const st = await budget.status('three')
    expect(st.tightest?.heldMicros).toBe(0)
    const total = rs.reduce((a, r) => a + priceOf(r.model, r.usage), 0)
    expect(total).toBeGreaterThan(0)
    expect(st.tightest?.spentMicros).toBe(total)
    const again = await Promise.all(enq.map((e, i) => queues[(i + 2) % 3]!.result(e.jobId)))
    expect(again.map((r) => r.text)).toEqual(rs.map((r) => r.text))
  }, 60_000)
})
