/**
 * A job whose end is stored but not recorded by BullMQ is ended again by the worker that takes it
 * over, without a second provider call. Its run already settled the budget hold; a settle is a
 * duplicate only while the budget's tombstone of the first one lasts (`tombstoneTtl` past the
 * hold's expiry), so a worker that takes the job over after that (no worker was up meanwhile) must
 * not settle it again: the subject would be charged twice for one call.
 */
import { redisStore } from '@aikit/core/redis'
import { type Budget, createBudget, priceOf } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('a completed job taken over after its hold and tombstone are gone', () => {
  it('is charged once: the worker that takes it over does not settle the hold again', async () => {
    const name = h.name()
    const prefix = `late-${name}`
    const admin = h.redis.client()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix, commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
      tombstoneTtl: 200,
    })
    const q = h.queue({ name, budget, holdTtl: 300 })
    const opts = { name, lockDuration: 2000, stalledInterval: 200, budget }
    const a = h.worker(opts)
    h.provider.reset()
    const held = h.provider.holdStreamAfter(3)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'late',
      params: messages('charged once'),
    })
    await held.reached
    // BullMQ's own worker closes under the run: the run completes, settles and stores its end,
    // but BullMQ no longer records the completion, so the job stays active.
    await a.worker.close(true)
    held.release()
    const result = await q.result(jobId)
    const price = priceOf(result.model, result.usage)
    expect((await budget.spend('late')).totalMicros).toBe(price)
    // No worker is up until the settle's tombstone has expired.
    await vi.waitFor(async () => expect((await admin.keys(`${prefix}:*:done:*`)).length).toBe(0), {
      timeout: 10_000,
      interval: 100,
    })
    h.worker(opts) // its stalled check takes the job over
    await vi.waitFor(async () => expect(await q.queue.getJobState(jobId)).toBe('unknown'), {
      timeout: 15_000,
      interval: 100,
    })
    expect(h.provider.count('/v1/messages')).toBe(1)
    const spend = await budget.spend('late')
    expect(spend.totalMicros).toBe(price)
    expect(spend.heldMicros).toBe(0)
  })
})

describe('a completed job whose own settle failed, taken over while its hold is live', () => {
  it('is charged once, by the worker that takes it over', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: `retry-${name}`, commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    // The first worker's store refuses the settle (as when it is down at that moment), and its
    // background retries of it (`retrySettle`) never get through either: otherwise one may land
    // before the takeover (soon on a loaded runner) and this test would prove nothing about it.
    const failing: Budget = {
      ...budget,
      restore: (handle) =>
        new Proxy(budget.restore(handle), {
          get(target, key) {
            if (key === 'settle') return async () => Promise.reject(new Error('store down'))
            if (key === 'retrySettle') return () => {}
            const value = Reflect.get(target, key, target)
            return typeof value === 'function' ? value.bind(target) : value
          },
        }),
    }
    const enqueuer = h.queue({ name, budget })
    const q = h.queue({ name }) // reads the result; holds nothing
    const opts = { name, lockDuration: 2000, stalledInterval: 200 }
    const a = h.worker({ ...opts, budget: failing, onError: () => {} })
    h.provider.reset()
    const held = h.provider.holdStreamAfter(3)
    const { jobId } = await enqueuer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'retried',
      params: messages('settled on takeover'),
    })
    await enqueuer.close() // its backup settle is gone with it: only a worker can settle now
    await held.reached
    await a.worker.close(true) // the completion is not recorded: the job stays active
    held.release()
    const result = await q.result(jobId)
    expect((await budget.spend('retried')).totalMicros).toBe(0)
    h.worker({ ...opts, budget })
    await vi.waitFor(async () => expect(await q.queue.getJobState(jobId)).toBe('unknown'), {
      timeout: 15_000,
      interval: 100,
    })
    expect(h.provider.count('/v1/messages')).toBe(1)
    const spend = await budget.spend('retried')
    expect(spend.totalMicros).toBe(priceOf(result.model, result.usage))
    expect(spend.heldMicros).toBe(0)
  })
})
