import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { Stream } from '@anthropic-ai/sdk/core/streaming'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, SubjectRequiredError, wrapAnthropic } from '../src/anthropic/index.js'
import { inRequest, mapCache, recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())
// A request a failed test left in flight would land in the next test's counts: wait it out
// (bounded: a hung one without a timeout of its own may never end).
afterEach(async () => {
  await Promise.race([fake.idle(), new Promise((resolve) => setTimeout(resolve, 5_000))])
  fake.reset()
})

const MODEL = 'claude-haiku-4-5'
const params = (text = 'hello there') => ({
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: text }],
})

describe('wrapAnthropic: messages.create', () => {
  it('serves the second identical call from the cache with no provider call; charges priceOf(usage) exactly', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { metrics, logger } = recorders()
    const client = wrapAnthropic(raw, {
      cacheSampling: true,
      cache,
      budget,
      metrics,
      logger,
      subject: 'u1',
    })
    const first = await client.messages.create(params())
    expect(first.content[0]).toMatchObject({ type: 'text', text: 'Echo: hello there' })
    expect(fake.count('/v1/messages')).toBe(1)
    const expected = priceOf(MODEL, first.usage as unknown as Record<string, unknown>)
    expect(expected).toBeGreaterThan(0)
    const spend = await budget.spend('u1')
    expect(spend.totalMicros).toBe(expected)
    expect(spend.heldMicros).toBe(0)

    const second = await client.messages.create(params())
    expect(second).toEqual(first)
    expect(fake.count('/v1/messages')).toBe(1)
    expect((await budget.spend('u1')).totalMicros).toBe(expected)
    expect(metrics.cache).toEqual(['miss', 'hit'])
    expect(metrics.calls).toHaveLength(1)
    expect(metrics.calls[0]).toMatchObject({
      provider: 'anthropic',
      model: MODEL,
      operation: 'chat',
      usage: { inputTokens: first.usage.input_tokens, outputTokens: first.usage.output_tokens },
      costUsd: expected / 1e6,
    })
    expect(logger.lines.map((l) => l.cache)).toEqual(['miss', 'hit'])
    expect(logger.lines[0]).toMatchObject({
      message: 'llm call',
      outcome: 'ok',
      costMicros: expected,
    })
  })

  it('keeps withResponse() and asResponse() of the SDK promise', async () => {
    const client = wrapAnthropic(raw, { cacheSampling: true, cache: mapCache() })
    const { data, response, request_id } = await client.messages.create(params('wr')).withResponse()
    expect(data.type).toBe('message')
    expect(response.status).toBe(200)
    expect(request_id).toMatch(/^req_fake_/)
    const asResponse = await client.messages
      .create(params('ar'), aikit({ cache: 'no-store' }))
      .asResponse()
    expect(
      ((await asResponse.json()) as { content: Array<{ text: string }> }).content[0]?.text
    ).toBe('Echo: ar')
    const hit = await client.messages.create(params('wr')).withResponse()
    expect(hit.data).toEqual(data)
    expect(hit.response.headers.get('x-aikit-cache')).toBe('hit')
  })

  it('streams every event through, settles from the final usage, then replays the stream from the cache', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { metrics, logger } = recorders()
    const client = wrapAnthropic(raw, {
      cacheSampling: true,
      cache,
      budget,
      metrics,
      logger,
      subject: 'u1',
    })
    const stream = await client.messages.create({ ...params('stream me please'), stream: true })
    expect(stream).toBeInstanceOf(Stream)
    expect(stream.controller).toBeInstanceOf(AbortController)
    const events: string[] = []
    let text = ''
    let finalUsage: Record<string, unknown> | undefined
    let startUsage: Record<string, unknown> = {}
    for await (const e of stream) {
      events.push(e.type)
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text
      if (e.type === 'message_start')
        startUsage = e.message.usage as unknown as Record<string, unknown>
      if (e.type === 'message_delta') finalUsage = e.usage as unknown as Record<string, unknown>
    }
    expect(text).toBe('Echo: stream me please')
    expect(events[0]).toBe('message_start')
    expect(events.at(-1)).toBe('message_stop')
    await until(() => cache.sets === 1)
    const expected = priceOf(MODEL, { ...finalUsage, input_tokens: startUsage.input_tokens })
    expect((await budget.spend('u1')).totalMicros).toBe(expected)
    expect(metrics.calls[0]?.costUsd).toBe(expected / 1e6)
    expect(metrics.calls[0]?.timeToFirstChunkSeconds).toBeGreaterThan(0)

    const again = await client.messages.create({ ...params('stream me please'), stream: true })
    const replayed: string[] = []
    for await (const e of again) replayed.push(e.type)
    expect(replayed).toEqual(events)
    expect(fake.count('/v1/messages')).toBe(1)
    expect(logger.lines.map((l) => `${l.cache}:${l.outcome}`)).toEqual(['miss:ok', 'hit:ok'])
  })

  it('keeps the SDK Stream API: tee() and the messages.stream() helper go through the wrapper', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache })
    const stream = await client.messages.create({ ...params('tee'), stream: true })
    const [a, b] = stream.tee()
    const read = async (s: AsyncIterable<{ type: string }>) => {
      const out: string[] = []
      for await (const e of s) out.push(e.type)
      return out
    }
    const [ea, eb] = await Promise.all([read(a), read(b)])
    expect(ea).toEqual(eb)
    expect(ea.at(-1)).toBe('message_stop')

    const helper = client.messages.stream(params('helper'))
    const message = await helper.finalMessage()
    expect(message.content[0]).toMatchObject({ text: 'Echo: helper' })
    await until(() => cache.sets === 2)
    expect(fake.count('/v1/messages')).toBe(2)
  })

  it('serves a second identical messages.stream() (the SDK helper) from the cache with 0 provider calls', async () => {
    const cache = mapCache()
    const { metrics } = recorders()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache, metrics })
    const live = client.messages.stream(params('helper twice'))
    const liveText: string[] = []
    live.on('text', (t) => liveText.push(t))
    const first = await live.finalMessage()
    expect(first.content[0]).toMatchObject({ type: 'text', text: 'Echo: helper twice' })
    await until(() => cache.sets === 1)
    expect(fake.count('/v1/messages')).toBe(1)

    const cached = client.messages.stream(params('helper twice'))
    const cachedText: string[] = []
    cached.on('text', (t) => cachedText.push(t))
    const second = await cached.finalMessage()
    expect(second.id).toBe(first.id)
    expect(second).toEqual(first)
    expect(cachedText).toEqual(liveText)
    expect(cachedText.join('')).toBe('Echo: helper twice')
    expect(fake.count('/v1/messages')).toBe(1)
    expect(metrics.cache).toEqual(['miss', 'hit'])
  })

  it('lets exactly 3 calls through a budget that fits 3; the 4th, identical, fails with BUDGET_EXCEEDED before any provider call', async () => {
    // 100 tokens, the output limit of the request: a call costs about its worst case.
    fake.setReply(() => 'word '.repeat(80))
    // Worst case of one call (what the wrapper holds): estimated input + 100 output tokens.
    const probe = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const hold = await probe.reserve('p', {
      model: MODEL,
      messages: params().messages,
      maxOutputTokens: 100,
    })
    const budget = createBudget({ limits: [{ period: 'day', micros: hold.amountMicros * 3 }] })
    const client = wrapAnthropic(raw, { budget, subject: 'u3' })
    for (let i = 0; i < 3; i++) await client.messages.create(params())
    expect(fake.count('/v1/messages')).toBe(3)
    const spend = await budget.spend('u3')
    expect(spend.heldMicros).toBe(0)
    // Alone the 4th call fits the budget; after what the first three spent it does not.
    expect(spend.totalMicros + hold.amountMicros).toBeGreaterThan(hold.amountMicros * 3)
    await expect(client.messages.create(params())).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
      status: 402,
    })
    expect(fake.count('/v1/messages')).toBe(3)
    expect((await budget.spend('u3')).heldMicros).toBe(0)
  })

  it('a stream aborted by the caller mid-way settles on the estimate, releases nothing held, and is not cached', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { logger } = recorders()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache, budget, logger, subject: 'ab' })
    fake.setStreamDelayMs(20)
    fake.setReply(() => 'word '.repeat(60))
    const stream = await client.messages.create({ ...params('long'), stream: true })
    let n = 0
    for await (const e of stream) {
      if (e.type === 'content_block_delta' && ++n === 3) break
    }
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', estimated: true })
    const spend = await budget.spend('ab')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
    expect(cache.sets).toBe(0)
  })

  it.each([
    { status: 429, ErrorClass: Anthropic.RateLimitError, stream: false },
    { status: 529, ErrorClass: Anthropic.OverloadedError, stream: false },
    { status: 500, ErrorClass: Anthropic.InternalServerError, stream: false },
    { status: 429, ErrorClass: Anthropic.RateLimitError, stream: true },
    { status: 529, ErrorClass: Anthropic.OverloadedError, stream: true },
    { status: 500, ErrorClass: Anthropic.InternalServerError, stream: true },
    { status: 503, ErrorClass: Anthropic.ServiceUnavailableError, stream: true },
  ])(
    'passes a provider $status (stream: $stream) through as the SDK error class, releases the reservation, caches nothing',
    async ({ status, ErrorClass, stream }) => {
      const cache = mapCache()
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const { logger } = recorders()
      const client = wrapAnthropic(raw, {
        cacheSampling: true,
        cache,
        budget,
        logger,
        subject: 'e1',
      })
      const ask = async (): Promise<string> => {
        if (!stream) {
          const message = await client.messages.create(params('fail'))
          return message.content[0]?.type === 'text' ? message.content[0].text : ''
        }
        let text = ''
        for await (const e of await client.messages.create({ ...params('fail'), stream: true })) {
          if (e.type === 'content_block_delta' && e.delta.type === 'text_delta')
            text += e.delta.text
        }
        return text
      }
      fake.failNext(1, { status, retryAfter: 0 })
      const error = await ask().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ErrorClass)
      expect(error).toBeInstanceOf(Anthropic.APIError)
      expect((error as { status: number }).status).toBe(status)
      const spend = await budget.spend('e1')
      expect(spend).toMatchObject({ heldMicros: 0, totalMicros: 0 })
      expect(cache.sets).toBe(0)
      expect(logger.lines).toMatchObject([{ outcome: 'error' }])
      // Not cached: the next call reaches the provider and succeeds.
      await expect(ask()).resolves.toBe('Echo: fail')
      expect(fake.count('/v1/messages')).toBe(2)
      await until(() => logger.lines.length === 2) // a stream logs (after settling) at its end
      expect(await budget.spend('e1')).toMatchObject({ heldMicros: 0 })
    }
  )

  it('an overloaded_error event mid-stream reaches the caller as the SDK APIError; no hold left, not cached, the next identical call reaches the provider', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { logger } = recorders()
    const client = wrapAnthropic(raw, {
      cacheSampling: true,
      cache,
      budget,
      logger,
      subject: 'mid',
    })
    const read = async () => {
      let text = ''
      for await (const e of await client.messages.create({ ...params('mid'), stream: true })) {
        if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text
      }
      return text
    }
    fake.errorStreamAfter(4)
    const error = await read().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: 'overloaded_error' },
    })
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'error' })
    expect((await budget.spend('mid')).heldMicros).toBe(0)
    expect(cache.sets).toBe(0)
    await expect(read()).resolves.toBe('Echo: mid')
    expect(fake.count('/v1/messages')).toBe(2)
  })

  it('passes a timeout through as the SDK APIConnectionTimeoutError', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapAnthropic(raw, { budget, subject: 't1' })
    fake.hangNext(1)
    // 1 s, not less: the request must reach the fake (and take the hang) before it times out,
    // or the hang is left for the next request.
    const error = await client.messages
      .create(params('slow'), aikit({}, { timeout: 1_000 }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    await until(() => fake.calls.length === 1)
    expect((await budget.spend('t1')).heldMicros).toBe(0)
    // Nothing cached or left in flight: the identical call reaches the provider.
    await expect(client.messages.create(params('slow'))).resolves.toMatchObject({ type: 'message' })
    expect(fake.count('/v1/messages')).toBe(2)
    expect(await budget.spend('t1')).toMatchObject({ heldMicros: 0 })
  })

  it('passes a streamed call that times out through as APIConnectionTimeoutError; no hold remains, its input estimate is charged', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapAnthropic(raw, { budget, subject: 't2' })
    fake.hangNext(1)
    // 1 s, not less: the request must reach the fake (and take the hang) before it times out.
    const error = await client.messages
      .create({ ...params('slow stream'), stream: true }, aikit({}, { timeout: 1_000 }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
    await until(() => fake.calls.length === 1)
    // Sent, then timed out before its first event: charged as a stream cut there.
    const spent = await budget.spend('t2')
    expect(spent.heldMicros).toBe(0)
    expect(spent.totalMicros).toBeGreaterThan(0)
    const events: string[] = []
    for await (const e of await client.messages.create({
      ...params('slow stream'),
      stream: true,
    })) {
      events.push(e.type)
    }
    expect(events.at(-1)).toBe('message_stop')
    expect(fake.count('/v1/messages')).toBe(2)
  })

  it('coalesces 10 identical concurrent calls into 1 provider call', async () => {
    const client = wrapAnthropic(raw, {})
    fake.setStreamDelayMs(5)
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.messages.create(params('same')))
    )
    expect(fake.count('/v1/messages')).toBe(1)
    for (const r of results) expect(r.content).toEqual(results[0]?.content)
  })

  it('coalesces 100 identical concurrent streamed calls into 1 provider call and 100 complete identical streams', async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache })
    fake.setStreamDelayMs(2)
    const read = async () => {
      const s = await client.messages.create({ ...params('fan out'), stream: true })
      const out: unknown[] = []
      for await (const e of s) out.push(e)
      return JSON.stringify(out)
    }
    const all = await Promise.all(Array.from({ length: 100 }, read))
    expect(fake.count('/v1/messages')).toBe(1)
    expect(new Set(all).size).toBe(1)
    expect(all[0]).toContain('message_stop')
  })

  it('takes the subject from the request context (AsyncLocalStorage); the cache is scoped by it', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapAnthropic(raw, { cacheSampling: true, cache, budget })
    await inRequest({ subject: 'alice' }, () => client.messages.create(params('scoped')))
    expect((await budget.spend('alice')).totalMicros).toBeGreaterThan(0)
    await inRequest({ subject: 'bob' }, () => client.messages.create(params('scoped')))
    expect(fake.count('/v1/messages')).toBe(2) // bob does not see alice's answer
    await inRequest({ subject: 'alice' }, () => client.messages.create(params('scoped')))
    expect(fake.count('/v1/messages')).toBe(2)
    // The per-call override wins over the context.
    await inRequest({ subject: 'alice' }, () =>
      client.messages.create(params('scoped'), aikit({ subject: 'carol' }))
    )
    expect((await budget.spend('carol')).totalMicros).toBeGreaterThan(0)
  })

  it('aborts the provider call when the request context signal aborts (client gone)', async () => {
    const client = wrapAnthropic(raw, {})
    const gone = new AbortController()
    fake.hangNext(1)
    const pending = inRequest({}, () => client.messages.create(params('bye')), gone.signal)
    await until(() => fake.calls.length === 1)
    gone.abort()
    await expect(pending).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await fake.idle()
    expect(fake.calls[0]?.aborted).toBe(true)
  })

  it('requireSubject (or a budget) without any subject throws SubjectRequiredError before calling', async () => {
    const client = wrapAnthropic(raw, { requireSubject: true })
    await expect(client.messages.create(params())).rejects.toBeInstanceOf(SubjectRequiredError)
    const budgeted = wrapAnthropic(raw, {
      budget: createBudget({ limits: [{ period: 'day', usd: 1 }] }),
    })
    await expect(budgeted.messages.create(params())).rejects.toMatchObject({
      code: 'SUBJECT_REQUIRED',
    })
    expect(fake.count()).toBe(0)
  })

  it("aikit({ cache: 'no-store' }) neither reads nor writes the cache; the symbol never reaches the SDK request", async () => {
    const cache = mapCache()
    const client = wrapAnthropic(raw, { cacheSampling: true, cache })
    await client.messages.create(
      params('ns'),
      aikit({ cache: 'no-store' }, { headers: { 'x-test': '1' } })
    )
    await client.messages.create(params('ns'), aikit({ cache: 'no-store' }))
    expect(fake.count('/v1/messages')).toBe(2)
    expect(cache.gets + cache.sets).toBe(0)
    expect(fake.calls[0]?.headers['x-test']).toBe('1')
  })

  it('a params object reused and changed between calls gets a new key (no stale answer)', async () => {
    const client = wrapAnthropic(raw, { cacheSampling: true, cache: mapCache() })
    const reused = {
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user' as const, content: 'one' }],
    }
    const a = await client.messages.create(reused)
    reused.messages[0] = { role: 'user', content: 'two' }
    const b = await client.messages.create(reused)
    expect(a.content[0]).toMatchObject({ text: 'Echo: one' })
    expect(b.content[0]).toMatchObject({ text: 'Echo: two' })
  })

  it('leaves the original client untouched', async () => {
    const cache = mapCache()
    wrapAnthropic(raw, { cacheSampling: true, cache })
    await raw.messages.create(params('raw'))
    await raw.messages.create(params('raw'))
    expect(fake.count('/v1/messages')).toBe(2)
    expect(cache.gets).toBe(0)
  })
})
