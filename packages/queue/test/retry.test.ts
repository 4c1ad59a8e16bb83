import { JobFailedError, type LlmJobEvent } from '@aikit/queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isRetryable, retryAfterMs, retryDelay } from '../src/retry.js'
import { collect, type Harness, lastRunText, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('retry policy (unit)', () => {
  const err = (status: number | undefined, headers: Record<string, string> = {}) =>
    Object.assign(new Error('x'), { status, headers: new Headers(headers) })

  it('retries 408/409/429/529/5xx and connection errors, never other 4xx or kit errors', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 529, undefined])
      expect(isRetryable(err(s))).toBe(true)
    for (const s of [400, 401, 403, 404, 413, 422]) expect(isRetryable(err(s))).toBe(false)
  })

  it('reads retry-after-ms, retry-after seconds and HTTP dates', () => {
    expect(retryAfterMs(err(429, { 'retry-after-ms': '1500' }))).toBe(1500)
    expect(retryAfterMs(err(429, { 'retry-after': '2' }))).toBe(2000)
    expect(retryAfterMs(err(429, { 'retry-after': '0.25' }))).toBe(250)
    const now = Date.parse('2026-11-26T00:00:00Z')
    expect(retryAfterMs(err(429, { 'retry-after': 'Thu, 26 Nov 2026 00:00:07 GMT' }), now)).toBe(
      7000
    )
    expect(retryAfterMs(err(429, { 'retry-after': 'soon' }))).toBeUndefined()
    expect(retryAfterMs(err(503))).toBeUndefined()
  })

  it('honours retry-after up to the cap; otherwise exponential with jitter', () => {
    expect(retryDelay(err(429, { 'retry-after': '3' }), 1, 100, 60_000)).toBe(3000)
    expect(retryDelay(err(429, { 'retry-after': '600' }), 1, 100, 60_000)).toBe(60_000)
    expect(retryDelay(err(503), 1, 100, 60_000, () => 0)).toBe(50)
    expect(retryDelay(err(503), 3, 100, 60_000, () => 1)).toBe(400)
    expect(retryDelay(err(503), 30, 100, 1000, () => 1)).toBe(1000)
  })
})

describe('retries through BullMQ against the fake provider', () => {
  it('a 429 with retry-after is retried after at least that long; followers see the retry', async () => {
    const name = h.name()
    // A 10 ms base backoff: only retry-after can explain a 1 s wait.
    const q = h.queue({ name, backoffDelay: 10 })
    h.worker({ name })
    h.provider.reset()
    h.provider.failNext(1, { status: 429, retryAfter: 1 })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'r1',
      params: messages('retry me'),
    })
    const events = collect(q.follow(jobId))
    const result = await q.result(jobId)
    expect(result.attempts).toBe(2)
    expect(result.text).toBe('Echo: retry me')
    const calls = h.provider.calls.filter((c) => c.path === '/v1/messages')
    expect(calls.map((c) => c.status)).toEqual([429, 200])
    const [first, second] = calls
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(1000)
    const retry = (await events).find(
      (e): e is Extract<LlmJobEvent, { type: 'retry' }> => e.type === 'retry'
    )
    expect(retry).toMatchObject({ delayMs: 1000, status: 429 })
  })

  it('529 and 500 without retry-after are retried with backoff until they succeed', async () => {
    const name = h.name()
    const q = h.queue({ name, backoffDelay: 10 })
    h.worker({ name })
    h.provider.reset()
    h.provider.failNext(1, { status: 529 })
    h.provider.failNext(1, { status: 500 })
    const { jobId } = await q.enqueue({
      provider: 'openai',
      api: 'chat',
      subject: 'r2',
      params: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    })
    const result = await q.result(jobId)
    expect(result.attempts).toBe(3)
    expect(h.provider.calls.map((c) => c.status)).toEqual([529, 500, 200])
  })

  it('a stream the provider cuts mid-way is retried; followers drop the partial text at the new start', async () => {
    const name = h.name()
    const q = h.queue({ name, backoffDelay: 10 })
    h.worker({ name })
    h.provider.reset()
    h.provider.setReply(() => 'a b c d e f g h')
    h.provider.breakStreamAfter(4)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'r5',
      params: messages('cut'),
    })
    const events = collect(q.follow(jobId))
    const result = await q.result(jobId)
    expect(result).toMatchObject({ text: 'a b c d e f g h', attempts: 2 })
    expect(h.provider.calls.map((c) => c.broken)).toEqual([true, false])
    const seen = await events
    expect(seen.map((e) => e.type)).toContain('retry')
    expect(seen.filter((e) => e.type === 'start').map((e) => e.run)).toEqual([1, 2])
    expect(lastRunText(seen)).toBe('a b c d e f g h')
  })

  it('request errors (400, 401, 403, 404, 422) are not retried', async () => {
    const name = h.name()
    const q = h.queue({ name, backoffDelay: 10 })
    h.worker({ name })
    for (const status of [400, 401, 403, 404, 422]) {
      h.provider.reset()
      h.provider.failNext(1, { status })
      const { jobId } = await q.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'r3',
        params: messages(`bad ${status}`),
      })
      const error = await q.result(jobId).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(JobFailedError)
      expect((error as JobFailedError).jobError).toMatchObject({ status, attempts: 1 })
      expect((error as JobFailedError).status).toBe(502)
      expect(h.provider.calls).toHaveLength(1)
    }
  })

  it('attempts are bounded: a provider that keeps failing fails the job after `attempts`', async () => {
    const name = h.name()
    const q = h.queue({ name, backoffDelay: 5, attempts: 3 })
    h.worker({ name })
    h.provider.reset()
    h.provider.failNext(5, { status: 503 })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'r4',
      params: messages('never'),
    })
    const error = (await q.result(jobId).catch((e: unknown) => e)) as JobFailedError
    expect(error).toBeInstanceOf(JobFailedError)
    expect(error.jobError).toMatchObject({ status: 503, attempts: 3 })
    expect(h.provider.calls).toHaveLength(3)
    expect(JSON.stringify(error.jobError)).not.toContain('test-key')
  })
})
