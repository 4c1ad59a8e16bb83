/**
 * The budget hold lasts while a job waits in BullMQ's delayed set, not only while it waits or
 * runs: (a) a worker without the job's client hands it back to delayed (every second, for up to
 * 10 s) and extends the hold each time, as through a retry's backoff, its enqueuer gone or not;
 * (b) with a worker WITHOUT `budget` (nothing extends the hold through the backoff there), the
 * enqueuing queue object renews a delayed job's hold until `holdTtl` past its due time. Before,
 * both lapsed after `holdTtl` and other jobs got past the budget's limit.
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

const budgetOf = (name: string) =>
  createBudget({
    store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 }),
    limits: [{ period: 'rolling', window: '1d', usd: 1 }],
  })

describe('a job handed back by a worker without its client', () => {
  it('stays held while it bounces through delayed, its enqueuer gone', async () => {
    const name = h.name()
    const budget = budgetOf(name)
    const enqueuer = h.queue({ name, budget, holdTtl: 1500 })
    // The only worker has no Anthropic client: it hands the job back every second.
    h.worker({ name, budget, clients: { openai: h.openai() } })
    const { jobId } = await enqueuer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'nc',
      params: messages('no client here'),
    })
    // Only the worker can keep it held now (a deploy took the enqueuer away).
    await enqueuer.close()
    const states = new Set<string>()
    for (let i = 0; i < 8; i++) {
      await sleep(500)
      states.add(await h.queue({ name }).queue.getJobState(jobId))
    }
    // 4 s in: well past holdTtl (1.5 s), well before NO_CLIENT (10 s).
    expect(states.has('delayed')).toBe(true)
    expect((await budget.spend('nc')).heldMicros).toBeGreaterThan(0)
  }, 30_000)
})

describe("a retry's backoff on a worker without budget", () => {
  it('stays held: the enqueuing queue object renews a delayed job past its due time', async () => {
    const name = h.name()
    const budget = budgetOf(name)
    const enqueuer = h.queue({ name, budget, holdTtl: 1000, attempts: 2, pollInterval: 100 })
    h.worker({ name }) // no budget: it settles nothing and extends nothing
    h.provider.reset()
    h.provider.failNext(1, { status: 429, retryAfter: 4 })
    const { jobId } = await enqueuer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'nb',
      params: messages('back off'),
    })
    for await (const e of h.queue({ name }).follow(jobId)) if (e.type === 'retry') break
    await sleep(2500) // 2.5 s into the 4 s backoff: 2.5 holdTtls
    expect(await enqueuer.queue.getJobState(jobId)).toBe('delayed')
    expect((await budget.spend('nb')).heldMicros).toBeGreaterThan(0)
    // And it is charged once it completes.
    const result = await enqueuer.result(jobId, { timeout: '15s' })
    expect(result.attempts).toBe(2)
    const spend = await budget.spend('nb')
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(spend.heldMicros).toBe(0)
  }, 30_000)
})
