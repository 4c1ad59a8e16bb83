/**
 * Usage extraction with the REAL SDKs (@anthropic-ai/sdk, openai) against the fake provider, for
 * every response and stream shape: Anthropic Messages, OpenAI Chat Completions (with the injected
 * `include_usage` and its hidden chunk) and OpenAI Responses; streams dropped mid-way and streams
 * abandoned by the caller are charged from the estimate instead of $0.
 */

import {
  createBudget,
  estimateTokens,
  estimateTokensAsync,
  extractUsage,
  meterStream,
  prepareOpenAIStreamParams,
  priceOf,
  type StreamUsageResult,
} from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'

let p: FakeProvider
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  p = await startFakeProvider()
  anthropic = new Anthropic({ apiKey: 'test', baseURL: p.anthropicBaseURL, maxRetries: 0 })
  openai = new OpenAI({ apiKey: 'test', baseURL: p.openaiBaseURL, maxRetries: 0 })
})
afterAll(async () => {
  await p?.close()
})
beforeEach(() => {
  p.reset()
})

/** Drains a metered stream, returning the caller-visible events and the usage report. */
async function drain<T>(
  stream: AsyncIterable<T>,
  options: Omit<Parameters<typeof meterStream>[1], 'onDone'>,
  stopAfter = Number.POSITIVE_INFINITY
): Promise<{ seen: T[]; result: StreamUsageResult | undefined; error: unknown }> {
  let result: StreamUsageResult | undefined
  const seen: T[] = []
  let error: unknown
  try {
    for await (const e of meterStream(stream, { ...options, onDone: (r) => (result = r) })) {
      seen.push(e)
      if (seen.length >= stopAfter) break
    }
  } catch (e) {
    error = e
  }
  return { seen, result, error }
}

const ANTHROPIC_USAGE = {
  inputTokens: 100,
  outputTokens: 50,
  cachedInputTokens: 2000,
  cacheCreationInputTokens: 1000,
}
// claude-haiku-4-5: 100×1 + 50×5 + 2000×0.1 + 1000×1.25
const ANTHROPIC_COST = 1800

describe('Anthropic Messages (real SDK)', () => {
  const params = {
    model: 'claude-haiku-4-5-20251001',
    max_tokens: 1000,
    messages: [{ role: 'user' as const, content: 'Tell me a story about budgets' }],
  }

  it('a response: input_tokens excludes cache reads and writes', async () => {
    p.setUsage(ANTHROPIC_USAGE)
    const msg = await anthropic.messages.create(params)
    const got = extractUsage(msg)
    expect(got?.api).toBe('anthropic')
    expect(priceOf(got!.model, got!.usage)).toBe(ANTHROPIC_COST)
  })

  it('a stream: the final message_delta usage', async () => {
    p.setUsage(ANTHROPIC_USAGE)
    const stream = await anthropic.messages.create({ ...params, stream: true })
    const { result, error } = await drain(stream, { api: 'anthropic', model: params.model })
    expect(error).toBeUndefined()
    expect(result?.complete).toBe(true)
    expect(priceOf(result!.model, result!.usage)).toBe(ANTHROPIC_COST)
  })

  it('a stream the connection drops: message_start input + streamed text estimate', async () => {
    p.setUsage(ANTHROPIC_USAGE)
    p.setReply(() => 'word '.repeat(60))
    p.breakStreamAfter(10)
    const stream = await anthropic.messages.create({ ...params, stream: true })
    const { result, error, seen } = await drain(stream, { api: 'anthropic', model: params.model })
    expect(error).toBeDefined()
    const text = seen
      .map((e) =>
        e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''
      )
      .join('')
    expect(text.length).toBeGreaterThan(0)
    expect(result?.complete).toBe(false)
    expect(result?.usage).toMatchObject({
      inputTokens: 100,
      cacheReadTokens: 2000,
      cacheWrite5mTokens: 1000,
      outputTokens: Math.ceil(text.length / 3),
      estimated: true,
    })
    expect(priceOf(result!.model, result!.usage)).toBeGreaterThan(ANTHROPIC_COST - 50 * 5)
  })

  it('a stream the caller abandons is still reported once', async () => {
    p.setReply(() => 'word '.repeat(60))
    const stream = await anthropic.messages.create({ ...params, stream: true })
    const { result, error } = await drain(stream, { api: 'anthropic', model: params.model }, 6)
    expect(error).toBeUndefined()
    expect(result?.complete).toBe(false)
    expect(result?.usage.outputTokens).toBeGreaterThan(0)
  })

  it('estimateTokensAsync uses count_tokens through the passed client', async () => {
    p.setUsage({ inputTokens: 1234 })
    const n = await estimateTokensAsync(params.messages, params.model, { anthropic })
    expect(n).toBe(1234)
    expect(p.count('/v1/messages/count_tokens')).toBe(1)
  })
})

const OPENAI_USAGE = {
  inputTokens: 2000,
  cachedInputTokens: 1024,
  outputTokens: 300,
  reasoningTokens: 100,
}
// (2000 − 1024)×2.5 + 1024×1.25 + 300×10 (reasoning is inside the 300)
const OPENAI_COST = 6720

describe('OpenAI Chat Completions (real SDK)', () => {
  const params = {
    model: 'gpt-4o',
    messages: [{ role: 'user' as const, content: 'Tell me a story about budgets' }],
  }

  it('a response: cached tokens are inside prompt_tokens', async () => {
    p.setUsage(OPENAI_USAGE)
    const res = await openai.chat.completions.create(params)
    const got = extractUsage(res)
    expect(got?.api).toBe('openai-chat')
    expect(got?.usage).toMatchObject({
      inputTokens: 976,
      cacheReadTokens: 1024,
      reasoningTokens: 100,
    })
    expect(priceOf(got!.model, got!.usage)).toBe(OPENAI_COST)
  })

  it('a stream the caller did not ask usage for: include_usage injected, usage chunk hidden', async () => {
    p.setUsage(OPENAI_USAGE)
    const prepared = prepareOpenAIStreamParams({ ...params, stream: true as const })
    expect(prepared.hideUsageChunk).toBe(true)
    const stream = await openai.chat.completions.create(prepared.params)
    const { seen, result } = await drain(stream, {
      api: 'openai-chat',
      model: params.model,
      hideUsageChunk: prepared.hideUsageChunk,
    })
    const sent = p.calls[0]?.body as { stream_options?: unknown }
    expect(sent.stream_options).toEqual({ include_usage: true })
    expect(seen.length).toBeGreaterThan(1)
    expect(seen.every((c) => c.choices.length > 0 && !('usage' in c))).toBe(true)
    expect(result?.complete).toBe(true)
    expect(priceOf(result!.model, result!.usage)).toBe(OPENAI_COST)
  })

  it('a stream that asked for usage itself keeps its usage chunk', async () => {
    p.setUsage(OPENAI_USAGE)
    const asked = {
      ...params,
      stream: true as const,
      stream_options: { include_usage: true },
    }
    const prepared = prepareOpenAIStreamParams(asked)
    expect(prepared).toEqual({ params: asked, hideUsageChunk: false })
    const stream = await openai.chat.completions.create(prepared.params)
    const { seen, result } = await drain(stream, { api: 'openai-chat', hideUsageChunk: false })
    expect(seen.at(-1)?.usage?.prompt_tokens).toBe(2000)
    expect(priceOf(result!.model, result!.usage)).toBe(OPENAI_COST)
  })

  it('a stream the connection drops: the input estimate + streamed text', async () => {
    p.setReply(() => 'hello '.repeat(40))
    p.breakStreamAfter(5)
    const prepared = prepareOpenAIStreamParams({ ...params, stream: true as const })
    const stream = await openai.chat.completions.create(prepared.params)
    const { result, error } = await drain(stream, {
      api: 'openai-chat',
      model: params.model,
      inputTokens: 500,
      hideUsageChunk: true,
    })
    expect(error).toBeDefined()
    expect(result?.complete).toBe(false)
    expect(result?.usage.inputTokens).toBe(500)
    expect(result?.usage.outputTokens).toBeGreaterThan(0)
    expect(priceOf(result!.model, result!.usage)).toBeGreaterThan(500 * 2.5)
  })
})

describe('OpenAI Responses (real SDK)', () => {
  const params = { model: 'gpt-4.1', input: 'Tell me a story about budgets' }

  it('a response', async () => {
    p.setUsage(OPENAI_USAGE)
    const res = await openai.responses.create(params)
    const got = extractUsage(res)
    expect(got?.api).toBe('openai-responses')
    // 976×2 + 1024×0.5 + 300×8
    expect(priceOf(got!.model, got!.usage)).toBe(4864)
  })

  it('a stream: response.completed carries the usage', async () => {
    p.setUsage(OPENAI_USAGE)
    const stream = await openai.responses.create({ ...params, stream: true })
    const { result } = await drain(stream, { api: 'openai-responses', model: params.model })
    expect(result?.complete).toBe(true)
    expect(priceOf(result!.model, result!.usage)).toBe(4864)
  })

  it('a stream the connection drops is estimated', async () => {
    p.setReply(() => 'hello '.repeat(40))
    p.breakStreamAfter(8)
    const stream = await openai.responses.create({ ...params, stream: true })
    const { result, error } = await drain(stream, {
      api: 'openai-responses',
      model: params.model,
      inputTokens: 50,
    })
    expect(error).toBeDefined()
    expect(result?.complete).toBe(false)
    expect(result?.usage).toMatchObject({ inputTokens: 50, estimated: true })
    expect(result?.usage.outputTokens).toBeGreaterThan(0)
  })
})

describe('a budget around real streamed calls (the $0-streams failure mode)', () => {
  it('a chat stream the client abandons is settled at its estimate, not $0, and the hold is freed', async () => {
    p.setReply(() => 'hello '.repeat(200))
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const messages = [{ role: 'user' as const, content: 'Tell me a long story' }]
    const inputTokens = estimateTokens(messages, 'gpt-4o')
    const hold = await budget.reserve('user:stream', {
      model: 'gpt-4o',
      inputTokens,
      maxOutputTokens: 2000,
    })
    const prepared = prepareOpenAIStreamParams({ model: 'gpt-4o', messages, stream: true as const })
    const stream = await openai.chat.completions.create(prepared.params)
    let settled: Promise<unknown> | undefined
    let seen = 0
    for await (const _ of meterStream(stream, {
      api: 'openai-chat',
      model: 'gpt-4o',
      inputTokens,
      hideUsageChunk: prepared.hideUsageChunk,
      onDone: (r) => {
        settled = hold.settle(r.usage, { model: r.model })
      },
    })) {
      if (++seen === 10) break // the client went away
    }
    await settled
    const report = await budget.spend('user:stream')
    // input estimate + the ~10 streamed chunks, priced: far from $0, far below the 2,000-token hold
    expect(report.totalMicros).toBeGreaterThan(inputTokens * 2.5)
    expect(report.totalMicros).toBeLessThan(hold.amountMicros / 10)
    expect(Object.keys(report.byModel)).toEqual(['gpt-4o'])
    expect(report.heldMicros).toBe(0)
  })
})
