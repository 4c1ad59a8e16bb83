/**
 * `result()` waits, when this queue object holds the job's budget, until the hold is settled:
 * that wait honours `timeout` / `signal` and `close()` like the rest of the wait.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
const budgetServers: RedisServer[] = []
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
  for (const s of budgetServers) await s.stop()
})

/** A job, held by `q`, that completed while the budget store is gone (its settle keeps failing). */
async function completedJobWhoseSettleFails() {
  const budgetRedis = await startRedis()
  budgetServers.push(budgetRedis)
  const budget = createBudget({
    store: redisStore(budgetRedis.client({ maxRetriesPerRequest: 1 }), {
      // The enqueue's hold must be taken on a busy machine too (the settles after the kill fail
      // on their own, after one reconnection attempt).
      commandTimeoutMs: 1_000,
    }),
    limits: [{ period: 'rolling', window: '1d', usd: 1 }],
  })
  const name = h.name()
  const q = h.queue({ name, budget })
  const { jobId } = await q.enqueue({
    provider: 'anthropic',
    api: 'messages',
    subject: 'to',
    params: messages('slow settle'),
  })
  await budgetRedis.kill() // the budget store goes away: the enqueuer's settle keeps failing
  h.worker({ name }) // no budget: only the enqueuer settles
  // The job completes (another queue object, holding nothing, reads the result).
  expect((await h.queue({ name }).result(jobId)).text).toBe('Echo: slow settle')
  return { q, jobId }
}

describe('the wait for the hold to settle', () => {
  it('honours `timeout`: rejects with a TimeoutError while the budget store does not answer', async () => {
    const { q, jobId } = await completedJobWhoseSettleFails()
    const outcome = q.result(jobId, { timeout: 300 }).then(
      () => 'resolved',
      (e: unknown) => (e as Error).name
    )
    const guard = new Promise((r) => setTimeout(() => r('still waiting after 4 s'), 4000))
    expect(await Promise.race([outcome, guard])).toBe('TimeoutError')
  })

  it("honours `signal`: rejects with the signal's reason", async () => {
    const { q, jobId } = await completedJobWhoseSettleFails()
    const controller = new AbortController()
    const reason = new Error('gave up')
    const outcome = q.result(jobId, { signal: controller.signal }).then(
      () => 'resolved',
      (e: unknown) => e
    )
    await new Promise((r) => setTimeout(r, 200)) // parked behind the failing settle
    controller.abort(reason)
    expect(await outcome).toBe(reason)
  })

  it('a result() waiter waiting for the hold to settle rejects with QueueClosedError on close()', async () => {
    const { q, jobId } = await completedJobWhoseSettleFails()
    const outcome = q.result(jobId).then(
      () => 'resolved',
      (e: { code?: string }) => e.code
    )
    await new Promise((r) => setTimeout(r, 200)) // parked behind the failing settle
    await q.close()
    expect(await outcome).toBe('QUEUE_CLOSED')
  })
})
