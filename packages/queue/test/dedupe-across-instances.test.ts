/**
 * Identical enqueues from several instances (queue objects) at once: one job, the budget held
 * once (the losers of BullMQ's dedupe release theirs), charged once, no meta key left naming a
 * job that was never added.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget, priceOf } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('identical enqueues from several instances at once', () => {
  it('make one job, held and charged once, with no stray meta keys', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const queues = Array.from({ length: 4 }, () => h.queue({ name, budget }))
    const params = messages('many instances')
    const results = await Promise.all(
      queues.map((q) =>
        q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'mi', params })
      )
    )
    const ids = new Set(results.map((r) => r.jobId))
    expect(ids.size).toBe(1)
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1)
    const one = priceOf('claude-haiku-4-5', { inputTokens: 0, outputTokens: 256 })
    const held = (await budget.status('mi')).tightest?.heldMicros ?? 0
    expect(held).toBeLessThan(2 * one)
    const c = h.redis.client()
    const metas = await c.keys(`aikit:llmq:{${name}:*}:meta`)
    c.disconnect()
    expect(metas).toHaveLength(1)
    h.worker({ name, budget })
    const jobId = results[0]?.jobId as string
    const results2 = await Promise.all(queues.map((q) => q.result(jobId)))
    const r = results2[0]!
    const status = await budget.status('mi')
    expect(status.tightest?.heldMicros).toBe(0)
    expect(status.tightest?.spentMicros).toBe(priceOf(r.model, r.usage))
  })
})
