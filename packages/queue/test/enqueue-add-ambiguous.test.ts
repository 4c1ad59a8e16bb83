/**
 * An add that fails after it was sent (a command timeout while Redis is slow) may have run: the
 * enqueue then asks BullMQ whether the job exists and, if so, answers it; when that cannot be
 * known either, the hold is kept (and so is the meta key), not released. Before, the hold was
 * released while the job ran: its settle was a duplicate of that release, charged nothing.
 */
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

it('a timed-out add that ran leaves its job held and charged', async () => {
  const name = h.name()
  const budget = createBudget({
    store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 }),
    limits: [{ period: 'rolling', window: '1d', usd: 1 }],
  })
  const admin = h.redis.client()
  // Margins wide enough that a loaded runner's stalled event loop (a timer firing late) does not
  // time out the enqueue's other commands (its meta SET, the SUBSCRIBE) before the add.
  const q = h.queue({ name, budget, connection: h.redis.client({ commandTimeout: 1000 }) })
  const add = q.queue.add.bind(q.queue)
  // A slow Redis moment: writes wait 2 s, past the client's 1 s command timeout.
  q.queue.add = (async (...args: Parameters<typeof add>) => {
    await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE')
    return add(...args)
  }) as typeof q.queue.add
  h.provider.reset()
  const enqueued = await q
    .enqueue({ provider: 'anthropic', api: 'messages', subject: 'at', params: messages('slow') })
    .then(
      (r) => r,
      (e: Error) => e
    )
  await new Promise((r) => setTimeout(r, 2100)) // the pause is over: the add ran
  // Held either way: the job is in the queue.
  expect((await budget.spend('at')).heldMicros).toBeGreaterThan(0)
  const meta = await admin.keys(`aikit:llmq:{${name}:*}:meta`)
  expect(meta).toHaveLength(1)
  if (!(enqueued instanceof Error)) expect(meta[0]).toContain(enqueued.jobId)
  h.worker({ name, budget })
  const jobId = /\{[^:]+:([^}]+)\}/.exec(meta[0] as string)?.[1] as string
  await h.queue({ name }).result(jobId, { timeout: '10s' })
  let spend = await budget.spend('at')
  for (let i = 0; i < 30 && spend.heldMicros > 0; i++) {
    await new Promise((r) => setTimeout(r, 100))
    spend = await budget.spend('at')
  }
  expect(h.provider.count('/v1/messages')).toBe(1)
  expect(spend.totalMicros).toBeGreaterThan(0)
  expect(spend.heldMicros).toBe(0)
}, 30_000)
