/**
 * Dedupe of identical pending jobs: only a pending job is joined (an ended one is not), joining
 * needs no room in the budget, and the dedupe id always holds the subject and the cache mode.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { wrapAnthropic } from '@aikit/llm/anthropic'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

describe('a job that has ended is not joined', () => {
  // The worker stores the end before BullMQ records it and drops the dedupe id: a resubmission as
  // soon as the end is seen used to get the ended job back (and its failure) without a new attempt.
  it('resubmitting a job that failed for good runs a new job, not the failed one', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 1 })
    h.worker({ name })
    h.provider.reset()
    h.provider.failNext(1, { status: 529 }) // no attempts left: fails for good
    const params = messages('try again')
    const first = await q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'rs', params })
    await expect(q.result(first.jobId)).rejects.toMatchObject({ code: 'LLM_JOB_FAILED' })
    const again = await q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'rs', params })
    const outcome = await q.result(again.jobId).then(
      (r) => r.text,
      (e: { code?: string }) => e.code
    )
    expect({ deduplicated: again.deduplicated, outcome }).toEqual({
      deduplicated: false,
      outcome: 'Echo: try again',
    })
  })
})

describe('joining a pending job needs no room in the budget', () => {
  // Each concurrent identical enqueue used to reserve the worst case before BullMQ's add would
  // have deduplicated it: all but one got a 402 for a request that would simply have joined.
  it('concurrent identical enqueues with room for one worst case all get the one job (no 402)', async () => {
    const params = messages('double click')
    const probe = budgetOn(1)
    await h
      .queue({ name: h.name(), budget: probe })
      .enqueue({ provider: 'anthropic', api: 'messages', subject: 'dc', params })
    const one = (await probe.status('dc')).tightest?.heldMicros ?? 0
    expect(one).toBeGreaterThan(0)
    const budget = budgetOn((one * 1.5) / 1e6) // room for one worst case, not two
    const q = h.queue({ name: h.name(), budget })
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () =>
        q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'dc', params })
      )
    )
    const rejected = results.filter((r) => r.status === 'rejected')
    expect(rejected.map((r) => (r.reason as { code?: string }).code)).toEqual([])
    const ids = new Set(results.map((r) => (r.status === 'fulfilled' ? r.value.jobId : '')))
    expect(ids.size).toBe(1)
  })
})

describe('the dedupe id holds the cache mode', () => {
  // A 'refresh' enqueue used to join a pending identical 'default' job, answered from the cache.
  it("a job enqueued with cache: 'refresh' is not answered from the cache by joining a pending default job", async () => {
    const name = h.name()
    const q = h.queue({ name })
    const store = new Map<string, unknown>()
    const cache = {
      get: async (k: string) => store.get(k),
      set: async (k: string, v: unknown) => store.set(k, v),
    }
    const anthropic = wrapAnthropic(
      new Anthropic({ apiKey: 'test-key', baseURL: h.provider.anthropicBaseURL, maxRetries: 0 }),
      { cache }
    )
    h.provider.reset()
    const params = { ...messages('fresh please'), temperature: 0 } // deterministic: cacheable
    const w1 = h.worker({ name, clients: { anthropic } })
    const first = await q.result(
      (await q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'rf', params })).jobId
    )
    expect(first.cache).toBe('miss')
    await w1.close()
    // No worker now: an identical default job is pending when the refresh is asked for.
    const pending = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'rf',
      params,
    })
    const refresh = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'rf',
      params,
      cache: 'refresh',
    })
    expect(refresh.jobId).not.toBe(pending.jobId)
    h.worker({ name, clients: { anthropic } })
    const answer = await q.result(refresh.jobId)
    expect(answer.cache).toBe('miss') // 'refresh': skip the lookup, ask the provider
  })
})

describe('the dedupe id holds the subject', () => {
  // The dedupe id used to be the cacheKey's output alone: an app-wide key gave bob alice's job
  // (held on alice's budget, and 404 to bob from sseHandler).
  it("another subject's identical request is another job, even when the cache key is app-wide", async () => {
    const budget = budgetOn(1)
    const q = h.queue({
      name: h.name(),
      budget,
      cacheKey: (params, { api }) => `llm:${api}::${JSON.stringify(params)}`, // app-wide cache
    })
    const params = messages('what are your opening hours?')
    const alice = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'alice',
      params,
    })
    const bob = await q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'bob', params })
    expect(bob.jobId).not.toBe(alice.jobId)
    expect(await q.subjectOf(bob.jobId)).toBe('bob')
  })

  it('a very long cache key still makes a bounded dedupe id', async () => {
    const name = h.name()
    const q = h.queue({ name, cacheKey: () => 'k'.repeat(100_000) })
    const a = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 's',
      params: messages('long key'),
    })
    const b = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 's',
      params: messages('long key'),
    })
    expect(b).toEqual({ jobId: a.jobId, deduplicated: true })
    const keys = await h.redis.client().keys(`aikit:${name}:de:*`)
    expect(keys.length).toBe(1)
    expect((keys[0] as string).length).toBeLessThan(200)
  })
})
