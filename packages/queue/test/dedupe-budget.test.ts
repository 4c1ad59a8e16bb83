import { redisStore } from '@aikit/core/redis'
import { BudgetExceededError, createBudget, priceOf } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

const budgetOn = (usd: number) =>
  createBudget({
    store: redisStore(h.redis.client(), {
      prefix: `b${Math.random().toString(36).slice(2, 8)}`,
      commandTimeoutMs: 5000,
    }),
    limits: [{ period: 'rolling', window: '1d', usd }],
  })

describe('dedupe by cache key (subject-scoped)', () => {
  it('an identical pending job is one job; another subject is another job; params order does not matter', async () => {
    const q = h.queue({ name: h.name() }) // no worker yet: jobs stay pending
    const a = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'alice',
      params: messages('same'),
    })
    const b = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'alice',
      params: {
        messages: [{ role: 'user', content: 'same' }],
        max_tokens: 256,
        model: 'claude-haiku-4-5',
        stream: true,
      },
    })
    const c = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'bob',
      params: messages('same'),
    })
    const d = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'alice',
      params: messages('other'),
    })
    expect(a.deduplicated).toBe(false)
    expect(b).toEqual({ jobId: a.jobId, deduplicated: true })
    expect(c.deduplicated).toBe(false)
    expect(c.jobId).not.toBe(a.jobId)
    expect(d.jobId).not.toBe(a.jobId)
    expect(await q.queue.getWaitingCount()).toBe(3)
  })

  it('concurrent identical enqueues make one job and hold the budget once; a finished job is not reused', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const q = h.queue({ name, budget })
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        q.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'carol',
          params: messages('race'),
        })
      )
    )
    const ids = new Set(results.map((r) => r.jobId))
    expect(ids.size).toBe(1)
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1)
    const held = (await budget.status('carol')).tightest?.heldMicros ?? 0
    const one = priceOf('claude-haiku-4-5', { inputTokens: 0, outputTokens: 256 })
    expect(held).toBeGreaterThanOrEqual(one) // the worst case of ONE job
    expect(held).toBeLessThan(2 * one)
    h.worker({ name })
    const jobId = results[0]?.jobId as string
    await q.result(jobId)
    const again = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'carol',
      params: messages('race'),
    })
    expect(again.deduplicated).toBe(false)
    expect(again.jobId).not.toBe(jobId)
    await q.result(again.jobId)
  })
})

describe('budget held from enqueue to completion', () => {
  it('holds at enqueue, settles the actual usage once on completion, 402 at enqueue when it does not fit', async () => {
    const name = h.name()
    const budget = budgetOn(0.01) // 10,000 µ$: a few worst cases of 256 output tokens
    const settled: number[] = []
    budget.on('settled', (e) => settled.push(e.chargedMicros))
    const q = h.queue({ name, budget })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'dave',
      params: messages('pay'),
    })
    const before = await budget.status('dave')
    expect(before.tightest?.heldMicros).toBeGreaterThan(0)
    expect(before.tightest?.spentMicros).toBe(0)
    h.worker({ name })
    const result = await q.result(jobId)
    const after = await budget.status('dave')
    const cost = priceOf(result.model, result.usage)
    expect(after.tightest?.heldMicros).toBe(0)
    expect(after.tightest?.spentMicros).toBe(cost)
    expect(settled).toEqual([cost])
    expect((await budget.spend('dave')).totalMicros).toBe(cost)

    // A job whose worst case does not fit: 402 at enqueue, nothing queued, nothing held.
    const waiting = await q.queue.getWaitingCount()
    const huge = { ...messages('too big'), max_tokens: 100_000 }
    await expect(
      q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'dave', params: huge })
    ).rejects.toBeInstanceOf(BudgetExceededError)
    expect(await q.queue.getWaitingCount()).toBe(waiting)
    expect((await budget.status('dave')).tightest?.heldMicros).toBe(0)
  })

  it('a job whose hold lapsed (its enqueuer gone, no renewal) is still charged its actual cost by the worker', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    // 1 s: the hold must still be there when read right after the enqueue on a loaded runner.
    const enqueuer = h.queue({ name, budget, holdTtl: 1_000 })
    const { jobId } = await enqueuer.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'gina',
      params: messages('slow queue'),
    })
    expect((await budget.status('gina')).tightest?.heldMicros).toBeGreaterThan(0)
    await enqueuer.close() // stops renewing, as a dead instance would
    // No worker yet: the hold lapses (polled: holdTtl after the last renewal, however slow).
    await vi.waitFor(
      async () => expect((await budget.status('gina')).tightest?.heldMicros).toBe(0),
      { timeout: 10_000, interval: 50 }
    )
    h.worker({ name, budget })
    const result = await h.queue({ name }).result(jobId)
    expect((await budget.spend('gina')).totalMicros).toBe(priceOf(result.model, result.usage))
  })

  it('while its enqueuer lives, a waiting job stays held past holdTtl (renewed)', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    // Renewed every third of holdTtl: 1.5 s leaves a loaded runner room for a late renewal.
    const q = h.queue({ name, budget, holdTtl: 1_500 })
    await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'hank',
      params: messages('waiting'),
    })
    const held = (await budget.status('hank')).tightest?.heldMicros
    expect(held).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 3_500)) // more than twice holdTtl
    expect((await budget.status('hank')).tightest?.heldMicros).toBe(held)
  })

  it('with a budget, the worker settles (once) and the enqueuer only backs it up', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const settled: number[] = []
    budget.on('settled', (e) => settled.push(e.chargedMicros))
    const q = h.queue({ name, budget })
    h.worker({ name, budget })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ivy',
      params: messages('who pays'),
    })
    const result = await q.result(jobId)
    const cost = priceOf(result.model, result.usage)
    expect(settled).toEqual([cost])
    expect(await budget.spend('ivy')).toMatchObject({ totalMicros: cost, heldMicros: 0 })
  })

  it('a job that fails for good releases its hold without charging', async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const q = h.queue({ name, budget })
    h.worker({ name })
    h.provider.reset()
    h.provider.failNext(1, { status: 400 })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'erin',
      params: messages('fail'),
    })
    await expect(q.result(jobId)).rejects.toMatchObject({ code: 'LLM_JOB_FAILED' })
    const status = await budget.status('erin')
    expect(status.tightest?.heldMicros).toBe(0)
    expect(status.tightest?.spentMicros).toBe(0)
  })

  it('a budget needs a subject', async () => {
    const q = h.queue({ name: h.name(), budget: budgetOn(1) })
    await expect(
      q.enqueue({ provider: 'anthropic', api: 'messages', params: messages('who') })
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', status: 400 })
  })
})

describe('the wrapped client runs the job', () => {
  it("a cache hit in the worker's wrapped client answers without a provider call and releases the hold", async () => {
    const name = h.name()
    const budget = budgetOn(1)
    const q = h.queue({ name, budget })
    const store = new Map<string, unknown>()
    const cache = {
      get: async (k: string) => store.get(k),
      set: async (k: string, v: unknown) => store.set(k, v),
    }
    const { wrapAnthropic } = await import('@aikit/llm/anthropic')
    const Anthropic = (await import('@anthropic-ai/sdk')).default
    const anthropic = wrapAnthropic(
      new Anthropic({ apiKey: 'test-key', baseURL: h.provider.anthropicBaseURL, maxRetries: 0 }),
      { cache }
    )
    h.worker({ name, clients: { anthropic } })
    h.provider.reset()
    const job = () =>
      q.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'frank',
        params: { ...messages('cached'), temperature: 0 }, // deterministic: cacheable
      })
    const first = await q.result((await job()).jobId)
    const second = await q.result((await job()).jobId)
    expect(first.cache).toBe('miss')
    expect(second).toMatchObject({ cache: 'hit', text: first.text })
    expect(h.provider.calls).toHaveLength(1)
    const status = await budget.status('frank')
    expect(status.tightest?.spentMicros).toBe(priceOf(first.model, first.usage))
    expect(status.tightest?.heldMicros).toBe(0)
    // The cache is scoped by subject: the key includes it.
    expect([...store.keys()].every((k) => k.includes(':frank:'))).toBe(true)
  })
})
