/**
 * A settle by the worker that the budget's store could not take (a blip) is retried in the
 * background (`reservation.retrySettle`, as `@aikit/llm` does), not only reported: with the
 * enqueuing instance gone (the only other party that settles), the completed call would never be
 * charged.
 */
import { StoreUnavailableError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

it('a failed settle is retried: the job is charged once its enqueuer is gone', async () => {
  const name = h.name()
  const limits = [{ period: 'rolling', window: '1d', usd: 1 }] as const
  const store = redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 })
  const budget = createBudget({ store, limits })
  // The worker's budget: the same store, whose first settle (the op touching a `:done:` key:
  // settle or release) fails as a blip would.
  let failed = 0
  const flaky = new Proxy(store, {
    get(target, key) {
      if (key === 'run') {
        return (op: unknown, keys: readonly string[], input: unknown) => {
          if (failed === 0 && keys.some((k) => String(k).includes(':done:'))) {
            failed++
            return Promise.reject(new StoreUnavailableError('blip', { reason: 'timeout' }))
          }
          return (target.run as (...a: unknown[]) => Promise<unknown>)(op, keys, input)
        }
      }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const workerBudget = createBudget({ store: flaky, limits })
  const errors: string[] = []
  const enqueuer = h.queue({ name, budget })
  h.provider.reset()
  const held = h.provider.holdNext()
  h.worker({ name, budget: workerBudget, onError: (e) => errors.push(e.message) })
  const { jobId } = await enqueuer.enqueue({
    provider: 'anthropic',
    api: 'messages',
    subject: 'sr',
    params: messages('settle me'),
  })
  await held.reached
  await enqueuer.close() // the web instance that enqueued it goes away
  held.release()
  const result = await h.queue({ name }).result(jobId, { timeout: '10s' })
  expect(result.cache).toBe('miss')
  expect(failed).toBe(1)
  expect(errors).toContain('blip') // still reported
  let spend = await budget.spend('sr')
  for (let i = 0; i < 40 && spend.totalMicros === 0; i++) {
    await new Promise((r) => setTimeout(r, 100))
    spend = await budget.spend('sr')
  }
  expect(spend.totalMicros).toBeGreaterThan(0)
  expect(spend.heldMicros).toBe(0)
}, 30_000)
