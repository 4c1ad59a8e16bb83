import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  AikitError,
  InvalidOptionsError,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@aikit/core'
import { BudgetExceededError } from '@aikit/cost'
import {
  OutputBlockedError,
  PromptBlockedError,
  TokenRateLimitedError,
  wrapAnthropic,
} from '@aikit/llm/anthropic'
import { JobFailedError, type LlmJobEvent } from '@aikit/queue'
import Anthropic from '@anthropic-ai/sdk'
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

  it('retries 408/409/429/529/5xx and connection errors, never other 4xx', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 529, undefined])
      expect(isRetryable(err(s))).toBe(true)
    for (const s of [400, 401, 403, 404, 413, 422]) expect(isRetryable(err(s))).toBe(false)
  })

  it('retries the kit errors that pass (store outage, store timeout, cache timeout), not its decisions', () => {
    expect(
      isRetryable(new StoreUnavailableError('redis GET failed', { reason: 'connection' }))
    ).toBe(true)
    expect(isRetryable(new StoreUnavailableError('circuit open', { reason: 'circuit-open' }))).toBe(
      true
    )
    expect(isRetryable(new StoreTimeoutError(50, 'redis op'))).toBe(true)
    expect(isRetryable(new AikitError('CACHE_TIMEOUT', 504, 'cache fetcher timed out'))).toBe(true)
    const decisions = [
      new BudgetExceededError({
        period: 'day',
        limitMicros: 1,
        remainingMicros: 0,
        requestedMicros: 2,
        resetAt: 0,
      }),
      new PromptBlockedError(['r1']),
      new OutputBlockedError(['r1']),
      new InvalidOptionsError('cache', 'bad'),
      new AikitError('UNKNOWN_MODEL', 500, 'No price for model'),
      new AikitError('INTERNAL', 500, 'Internal server error'),
    ]
    for (const e of decisions) expect(isRetryable(e), e.code).toBe(false)
  })

  it('a kit rate limit (429 RATE_LIMITED) is retried after its retryAfterMs, unless it can never pass', () => {
    const limited = new TokenRateLimitedError(1234, 500)
    expect(isRetryable(limited)).toBe(true)
    expect(retryAfterMs(limited)).toBe(1234)
    expect(retryDelay(limited, 1, 10, 60_000)).toBe(1234)
    expect(retryDelay(limited, 1, 10, 1000)).toBe(1000) // capped like a provider's retry-after
    // `@aikit/ratelimit`'s RateLimitedError has the same shape (code, status, retryAfterMs).
    const other = Object.assign(new AikitError('RATE_LIMITED', 429, 'Too many requests'), {
      retryAfterMs: 40,
    })
    expect(isRetryable(other)).toBe(true)
    expect(retryDelay(other, 1, 10, 60_000)).toBe(40)
    // -1: the call exceeds a limit outright; it would fail again.
    expect(isRetryable(new TokenRateLimitedError(-1, 10_000_000))).toBe(false)
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

describe('the kit errors of the wrapped client, through BullMQ', () => {
  /** The real wrapped client, except that its first call rejects with `first`. */
  const failingFirst = (first: unknown) => {
    const real = h.anthropic()
    let calls = 0
    return {
      messages: {
        create: (params: unknown, options: unknown) =>
          calls++ === 0
            ? Promise.reject(first)
            : (real.messages.create as (p: unknown, o: unknown) => unknown)(params, options),
      },
    } as never
  }

  it('a job whose first attempt met a store outage (StoreUnavailableError) completes on its next attempt', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 3, backoffDelay: 10 })
    const outage = new StoreUnavailableError('circuit open: store is unavailable', {
      reason: 'circuit-open',
    })
    h.worker({ name, clients: { anthropic: failingFirst(outage) } })
    h.provider.reset()
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'outage',
      params: messages('after the blip'),
    })
    const events = collect(q.follow(jobId))
    const result = await q.result(jobId)
    expect(result).toMatchObject({ text: 'Echo: after the blip', attempts: 2 })
    expect((await events).find((e) => e.type === 'retry')).toMatchObject({ status: 503 })
  })

  it("a job the wrapped client's token limit rejected (429) is retried after the limiter's retryAfterMs", async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 2, backoffDelay: 10 })
    const w = h.worker({
      name,
      clients: { anthropic: failingFirst(new TokenRateLimitedError(300, 500)) },
    })
    const waited: number[] = []
    w.worker.on('failed', (job) => {
      if (job) waited.push(job.delay)
    })
    h.provider.reset()
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'limited',
      params: messages('later'),
    })
    const events = collect(q.follow(jobId))
    const result = await q.result(jobId)
    expect(result).toMatchObject({ text: 'Echo: later', attempts: 2 })
    expect((await events).find((e) => e.type === 'retry')).toMatchObject({
      delayMs: 300,
      status: 429,
    })
    expect(waited).toEqual([300]) // the delay BullMQ waited is the one announced
    expect(h.provider.count('/v1/messages')).toBe(1)
  })

  it('a token limit the call can never fit (retryAfterMs -1) fails the job at once', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 3, backoffDelay: 10 })
    h.worker({
      name,
      clients: { anthropic: failingFirst(new TokenRateLimitedError(-1, 10_000_000)) },
    })
    h.provider.reset()
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'never',
      params: messages('too big'),
    })
    const error = (await q.result(jobId).catch((e: unknown) => e)) as JobFailedError
    expect(error).toBeInstanceOf(JobFailedError)
    expect(error.jobError).toMatchObject({ status: 429, code: 'RATE_LIMITED', attempts: 1 })
    expect(h.provider.count('/v1/messages')).toBe(0)
  })
})

describe('a failure Anthropic reports inside a stream (an `error` event after a 200)', () => {
  /** An Anthropic endpoint on 127.0.0.1 whose every stream starts, then ends with an `error` event of `type`. */
  async function erroringAnthropic(type: string): Promise<{ url: string; calls: () => number }> {
    let calls = 0
    const server = createServer((req, res) => {
      calls++
      req.resume()
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      const message = {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-haiku-4-5',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 1 },
      }
      res.write(
        `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`
      )
      const error = { type: 'error', error: { type, message: `${type} (test server)` } }
      res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise((r) => server.close(() => r())))
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      calls: () => calls,
    }
  }
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()))
  })

  it('is retried when its type is a transient one (overloaded_error, api_error), failed at once otherwise (invalid_request_error)', async () => {
    for (const [type, attempts] of [
      ['overloaded_error', 2],
      ['api_error', 2],
      ['invalid_request_error', 1],
      ['permission_error', 1],
    ] as const) {
      const server = await erroringAnthropic(type)
      const name = h.name()
      const q = h.queue({ name, attempts: 2, backoffDelay: 10 })
      const anthropic = wrapAnthropic(
        new Anthropic({ apiKey: 'test-key', baseURL: server.url, maxRetries: 0 })
      )
      h.worker({ name, clients: { anthropic } })
      const { jobId } = await q.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'in-stream',
        params: messages(type),
      })
      await expect(q.result(jobId), type).rejects.toMatchObject({
        code: 'LLM_JOB_FAILED',
        details: { code: type, message: 'The provider reported a failure in the stream', attempts },
      })
      expect(server.calls(), type).toBe(attempts)
    }
  })
})
