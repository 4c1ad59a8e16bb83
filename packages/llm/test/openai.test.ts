import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { Stream } from 'openai/core/streaming'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { aikit, wrapOpenAI } from '../src/openai/index.js'
import { inRequest, mapCache, recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: OpenAI

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MODEL = 'gpt-4o-mini'
const chat = (text = 'hello') => ({
  model: MODEL,
  max_completion_tokens: 100,
  messages: [{ role: 'user' as const, content: text }],
})
const resp = (text = 'hello') => ({ model: MODEL, input: text, max_output_tokens: 100 })

describe('wrapOpenAI: chat.completions.create', () => {
  it('caches the second identical call (0 provider calls) and charges priceOf(usage) exactly', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { metrics, logger } = recorders()
    const client = wrapOpenAI(raw, {
      cacheSampling: true,
      cache,
      budget,
      metrics,
      logger,
      subject: 'u1',
    })
    const first = await client.chat.completions.create(chat())
    expect(first.choices[0]?.message.content).toBe('Echo: hello')
    const expected = priceOf(MODEL, first.usage as unknown as Record<string, unknown>)
    expect((await budget.spend('u1')).totalMicros).toBe(expected)
    const second = await client.chat.completions.create(chat())
    expect(second).toEqual(first)
    expect(fake.count('/v1/chat/completions')).toBe(1)
    expect(metrics.calls).toHaveLength(1)
    expect(metrics.calls[0]).toMatchObject({ provider: 'openai', costUsd: expected / 1e6 })
    expect(logger.lines.map((l) => l.cache)).toEqual(['miss', 'hit'])
  })

  it('streams with include_usage injected, hides the usage chunk from the caller, settles exactly, replays from cache', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapOpenAI(raw, { cacheSampling: true, cache, budget, subject: 'u2' })
    const stream = await client.chat.completions.create({ ...chat('stream it'), stream: true })
    expect(stream).toBeInstanceOf(Stream)
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) chunks.push(c)
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Echo: stream it')
    expect(chunks.every((c) => c.choices.length > 0 && !('usage' in c))).toBe(true)
    const sent = fake.calls[0]?.body as { stream_options?: { include_usage?: boolean } }
    expect(sent.stream_options?.include_usage).toBe(true)
    await until(() => cache.sets === 1)
    const plain = await raw.chat.completions.create({ ...chat('stream it'), stream: false })
    expect((await budget.spend('u2')).totalMicros).toBe(priceOf(MODEL, plain.usage as never))

    const again = await client.chat.completions.create({ ...chat('stream it'), stream: true })
    const replayed: unknown[] = []
    for await (const c of again) replayed.push(c)
    expect(replayed).toEqual(chunks)
    expect(fake.count('/v1/chat/completions')).toBe(2) // the stream once + the bare comparison call
  })

  it('keeps the usage chunk when the caller asked for it', async () => {
    const client = wrapOpenAI(raw, {})
    const stream = await client.chat.completions.create({
      ...chat('mine'),
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) chunks.push(c)
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0)
  })

  it('passes 429 / 500 through as the SDK error classes and releases the reservation', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapOpenAI(raw, { cacheSampling: true, budget, cache: mapCache(), subject: 'e' })
    fake.failNext(1, { status: 429, retryAfter: 0 })
    await expect(client.chat.completions.create(chat('x'))).rejects.toBeInstanceOf(
      OpenAI.RateLimitError
    )
    fake.failNext(1, { status: 500 })
    await expect(client.responses.create(resp('x'))).rejects.toBeInstanceOf(
      OpenAI.InternalServerError
    )
    expect(await budget.spend('e')).toMatchObject({ heldMicros: 0, totalMicros: 0 })
  })

  it('coalesces 10 identical concurrent calls into 1 provider call', async () => {
    const client = wrapOpenAI(raw, {})
    const all = await Promise.all(
      Array.from({ length: 10 }, () => client.chat.completions.create(chat('same')))
    )
    expect(fake.count('/v1/chat/completions')).toBe(1)
    expect(new Set(all.map((r) => r.id)).size).toBe(1)
  })

  it('routes chat.completions.parse (the SDK helper) through the wrapper', async () => {
    const cache = mapCache()
    const client = wrapOpenAI(raw, { cacheSampling: true, cache })
    const parsed = await client.chat.completions.parse(chat('parse me'))
    expect(parsed.choices[0]?.message.content).toBe('Echo: parse me')
    expect(cache.sets).toBe(1)
  })
})

describe('wrapOpenAI: responses.create', () => {
  it('caches, charges exactly, and keeps withResponse()', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapOpenAI(raw, { cacheSampling: true, cache, budget, subject: 'r1' })
    const { data, request_id } = await client.responses.create(resp('resp')).withResponse()
    expect(data.output_text).toBe('Echo: resp')
    expect(request_id).toBeDefined()
    expect((await budget.spend('r1')).totalMicros).toBe(priceOf(MODEL, data.usage as never))
    const again = await client.responses.create(resp('resp'))
    expect(again.id).toBe(data.id)
    expect(fake.count('/v1/responses')).toBe(1)
  })

  it('streams through, settles from response.completed, replays from the cache', async () => {
    const cache = mapCache()
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { metrics } = recorders()
    const client = wrapOpenAI(raw, { cacheSampling: true, cache, budget, metrics, subject: 'r2' })
    const stream = await client.responses.create({ ...resp('streamed'), stream: true })
    const types: string[] = []
    let usage: unknown
    for await (const e of stream) {
      types.push(e.type)
      if (e.type === 'response.completed') usage = e.response.usage
    }
    expect(types.at(-1)).toBe('response.completed')
    await until(() => cache.sets === 1)
    expect((await budget.spend('r2')).totalMicros).toBe(priceOf(MODEL, usage as never))
    const again = await client.responses.create({ ...resp('streamed'), stream: true })
    const replayed: string[] = []
    for await (const e of again) replayed.push(e.type)
    expect(replayed).toEqual(types)
    expect(fake.count('/v1/responses')).toBe(1)
    expect(metrics.calls).toHaveLength(1)
  })

  it('asResponse() of a stream is the SSE the caller would have read', async () => {
    const client = wrapOpenAI(raw, {})
    const response = await client.chat.completions
      .create({ ...chat('sse'), stream: true })
      .asResponse()
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const text = await response.text()
    expect(text).toContain('"content":"Echo')
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(text).not.toContain('"usage"')
  })

  it('uses the subject of the request context and the per-call override', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapOpenAI(raw, { budget })
    await inRequest({ subject: 'ctx-user' }, () => client.responses.create(resp('ctx')))
    await client.responses.create(resp('ctx'), aikit({ subject: 'call-user' }))
    expect((await budget.spend('ctx-user')).totalMicros).toBeGreaterThan(0)
    expect((await budget.spend('call-user')).totalMicros).toBeGreaterThan(0)
  })
})
