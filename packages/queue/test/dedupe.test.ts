/**
 * Dedupe of identical pending jobs: only a pending job is joined (an ended one is not), joining
 * needs no room in the budget, and the dedupe id always holds the subject and the cache mode.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { wrapAnthropic } from '@aikit/llm/anthropic'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stableStringify } from '../src/cache-key.js'
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

describe('the dedupe id of an ended job is removed only while it still names that job', () => {
  // Two queue objects on one Redis (two instances) both resubmit a request whose job has ended.
  // Each read the id, saw it named the ended job and removed it; BullMQ's
  // `removeDeduplicationKey(id)` deletes whatever the id holds, so the later one removed the id
  // the other had just pointed at its NEW job and added a second identical job (both held on the
  // budget, both run). The id is now deleted only while it still names the ended job, then
  // re-read. Here instance X is paused after reading the ended job's id while instance Y does its
  // whole enqueue.
  it('a second instance resubmitting at the same time joins the first instance’s new job', async () => {
    const name = h.name()
    const x = h.queue({ name })
    const y = h.queue({ name })
    const job = {
      provider: 'anthropic',
      api: 'messages',
      subject: 'race',
      params: messages('resubmitted after the end'),
    } as const
    const ended = await x.enqueue(job)
    // The worker stores a job's end before BullMQ records it and drops the dedupe id: the state
    // an enqueue must treat as ended. The stored end, as RunLog.finish writes it.
    const result = {
      jobId: ended.jobId,
      text: 'Echo: resubmitted after the end',
      model: 'claude-haiku-4-5',
      usage: { inputTokens: 5, outputTokens: 5 },
      cache: 'miss',
      attempts: 1,
      finishedAt: new Date().toISOString(),
    }
    await h.redis
      .client()
      .set(
        `aikit:llmq:{${name}:${ended.jobId}}:result`,
        JSON.stringify({ type: 'done', id: '1.9', run: 1, seq: 9, result }),
        'PX',
        60_000
      )

    let reached!: () => void
    const atRead = new Promise<void>((r) => {
      reached = r
    })
    let go!: () => void
    const gate = new Promise<void>((r) => {
      go = r
    })
    const read = x.queue.getDeduplicationJobId.bind(x.queue)
    let first = true
    x.queue.getDeduplicationJobId = async (id: string) => {
      const value = await read(id)
      if (first) {
        first = false
        reached()
        await gate // X has read the ended job's id; Y goes first
      }
      return value
    }
    const fromX = x.enqueue(job)
    await atRead
    const fromY = await y.enqueue(job) // removes the ended job's id, adds its own job
    expect(fromY.deduplicated).toBe(false)
    go()
    expect(await fromX).toEqual({ jobId: fromY.jobId, deduplicated: true })
  })
})

describe('the dedupe key of a value with its own JSON', () => {
  // The key hashed the params as JSON with sorted keys but ignored `toJSON`: a URL (or a Date) has
  // no enumerable keys of its own and hashed as `{}`, so two requests about two different images
  // joined one job and the second caller got the answer about the first image. A `toJSON` is now
  // hashed as what it returns, as the job's JSON stores it.
  const about = (url: string) => ({
    model: 'gpt-4o-mini',
    max_completion_tokens: 64,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: new URL(url) } },
        ],
      },
    ],
  })

  it('two requests about different image URLs are two jobs, not one', async () => {
    const q = h.queue({ name: h.name() })
    const enqueue = (url: string) =>
      q.enqueue({ provider: 'openai', api: 'chat', subject: 'img', params: about(url) })
    const cat = await enqueue('https://images.example/cat.png')
    const dog = await enqueue('https://images.example/dog.png')
    expect(dog.jobId).not.toBe(cat.jobId)
    // The same URL again (another URL object) is the same job.
    expect(await enqueue('https://images.example/dog.png')).toEqual({
      jobId: dog.jobId,
      deduplicated: true,
    })
  })

  it('the key of a value with toJSON is the key of its JSON', () => {
    const at = new Date('2026-01-02T03:04:05.000Z')
    expect(stableStringify({ b: new URL('https://a.example/x'), a: at })).toBe(
      stableStringify({ a: at.toJSON(), b: 'https://a.example/x' })
    )
    expect(stableStringify({ d: at })).not.toBe(stableStringify({ d: new Date(0) }))
  })
})
