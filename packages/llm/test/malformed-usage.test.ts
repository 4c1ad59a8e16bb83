/**
 * A provider answer whose usage is malformed (a negative or fractional token count) still reached
 * the provider, which bills it: the caller gets the answer (or reads the whole stream), and the
 * budget charges the held worst case (a non-streamed answer, as for a missing usage) or the stream's
 * estimate, never $0, and frees the hold. Metrics carry no token usage for it; the log line says
 * `usageInvalid: true`. The real SDKs call the fake provider, whose `answerNext` plans send the
 * malformed usage.
 */
import { createBudget, estimateTokens, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { recorders, until } from './helpers.js'

let fake: FakeProvider
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  fake = await startFakeProvider()
  anthropic = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
  openai = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MESSAGES = '/v1/messages'
const MODEL = 'claude-haiku-4-5'
const params = {
  model: MODEL,
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'hello' }],
}
/** 12 input tokens and -5 output tokens (message_start reports the 12 and 1 output token). */
const bad = { inputTokens: 12, outputTokens: -5 }
/** What the wrapper holds for `params`: the estimated input plus `max_tokens`. */
const worstCase = priceOf(MODEL, {
  inputTokens: estimateTokens(params.messages, MODEL),
  outputTokens: params.max_tokens,
})

describe('a non-streamed answer with malformed usage', () => {
  it('is returned to the caller (the provider billed it)', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    fake.answerNext(1, { usage: bad })
    const client = wrapAnthropic(anthropic, { budget, subject: 'u1' })
    const msg = await client.messages.create(params)
    expect(msg.usage.output_tokens).toBe(-5)
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Echo: hello' })
    expect(fake.count(MESSAGES)).toBe(1)
  })

  it('charges the held worst case (never $0) and frees the hold', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    fake.answerNext(1, { usage: bad })
    const client = wrapAnthropic(anthropic, { budget, subject: 'u1' })
    await client.messages.create(params).catch(() => undefined)
    expect(fake.count(MESSAGES)).toBe(1)
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(spend.totalMicros).toBe(worstCase)
  })

  it('records no token usage in the metrics, the worst case as cost, and usageInvalid in the log', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { metrics, logger } = recorders()
    fake.answerNext(1, { usage: bad })
    const client = wrapAnthropic(anthropic, { budget, metrics, logger, subject: 'u1' })
    await client.messages.create(params)
    expect(metrics.calls).toHaveLength(1)
    expect(metrics.calls[0]?.usage).toBeUndefined()
    expect(metrics.calls[0]?.error).toBeUndefined()
    expect(metrics.calls[0]?.costUsd).toBe(worstCase / 1e6)
    expect(logger.lines).toHaveLength(1)
    expect(logger.lines[0]).toMatchObject({
      outcome: 'ok',
      usageInvalid: true,
      inputTokens: undefined,
      costMicros: worstCase,
    })
  })

  it('is returned by an OpenAI chat call with a fractional count too, charged the worst case', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const messages = [{ role: 'user' as const, content: 'hello' }]
    // The provider answers under a dated snapshot of the model asked for.
    fake.answerNext(1, {
      model: 'gpt-4o-2024-08-06',
      usage: { inputTokens: 10, outputTokens: 2.5 },
    })
    const client = wrapOpenAI(openai, { budget, subject: 'u1' })
    const answer = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      max_completion_tokens: 50,
    })
    expect(answer.usage?.completion_tokens).toBe(2.5)
    expect(answer.choices[0]?.message.content).toBe('Echo: hello')
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBe(
      priceOf('gpt-4o', { inputTokens: estimateTokens(messages, 'gpt-4o'), outputTokens: 50 })
    )
    // Charged under the model the provider answered with.
    expect(Object.keys(spend.byModel)).toEqual(['gpt-4o-2024-08-06'])
  })
})

describe('a stream with a malformed usage event', () => {
  it('settles (charged, hold freed) rather than leaving the hold to lapse at $0', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    fake.answerNext(1, { usage: bad })
    const client = wrapAnthropic(anthropic, { budget, subject: 'u1' })
    try {
      const stream = await client.messages.create({ ...params, stream: true })
      for await (const _ of stream) {
        // read it all
      }
    } catch {
      // The budget must settle however the stream ends (the next test checks it does not fail).
    }
    let held = -1
    await until(() => {
      void budget.spend('u1').then((s) => (held = s.heldMicros))
      return held === 0
    })
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })

  it('reaches the caller whole, without an error', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    fake.setReply(() => 'hi there')
    fake.answerNext(1, { usage: bad })
    const client = wrapAnthropic(anthropic, { budget, subject: 'u1' })
    const stream = await client.messages.create({ ...params, stream: true })
    const seen: Anthropic.RawMessageStreamEvent[] = []
    for await (const e of stream) seen.push(e)
    expect(seen.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    // The malformed usage itself reached the caller, as the provider sent it.
    expect(seen[5]).toMatchObject({ usage: { output_tokens: -5 } })
  })

  it('is charged the estimate (message_start input, streamed output) and logged as usageInvalid', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const { logger } = recorders()
    fake.answerNext(1, { usage: bad })
    const client = wrapAnthropic(anthropic, { budget, logger, subject: 'u1' })
    const stream = await client.messages.create({ ...params, stream: true })
    for await (const _ of stream) {
      // read it all
    }
    await until(() => logger.lines.length === 1)
    expect(logger.lines[0]).toMatchObject({
      outcome: 'ok',
      inputTokens: 12,
      estimated: true,
      usageInvalid: true,
    })
    const spend = await budget.spend('u1')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBe(logger.lines[0]?.costMicros)
    expect(spend.totalMicros).toBeGreaterThan(0)
  })

  it('keeps the last valid cumulative usage when a later usage event is malformed', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    // A valid cumulative usage, then a second, malformed one.
    fake.answerNext(1, { usage: bad, usageUpdates: [{ inputTokens: 12, outputTokens: 30 }] })
    const client = wrapAnthropic(anthropic, { budget, subject: 'u1' })
    const stream = await client.messages.create({ ...params, stream: true })
    for await (const _ of stream) {
      // read it all
    }
    const expected = priceOf(MODEL, { inputTokens: 12, outputTokens: 30 })
    let total = -1
    await until(() => {
      void budget.spend('u1').then((s) => (total = s.totalMicros))
      return total === expected
    })
    expect((await budget.spend('u1')).heldMicros).toBe(0)
  })

  it('an OpenAI chat stream whose usage chunk is malformed still reaches the caller and settles', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    fake.setReply(() => 'ok')
    fake.answerNext(1, { usage: { inputTokens: -3, outputTokens: 1 } })
    const client = wrapOpenAI(openai, { budget, subject: 'u1' })
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello' }],
      stream: true,
    })
    const seen: OpenAI.ChatCompletionChunk[] = []
    for await (const c of stream) seen.push(c)
    // The wrapper asked for the usage chunk; it stays hidden: the caller's chunks all arrive
    // (the role, 'ok', the finish), and no `choices: []` usage chunk.
    expect(fake.calls[0]?.body).toMatchObject({ stream_options: { include_usage: true } })
    expect(seen.map((c) => [c.choices[0]?.delta.content, c.choices[0]?.finish_reason])).toEqual([
      ['', null],
      ['ok', null],
      [undefined, 'stop'],
    ])
    let held = -1
    await until(() => {
      void budget.spend('u1').then((s) => (held = s.heldMicros))
      return held === 0
    })
    expect((await budget.spend('u1')).totalMicros).toBeGreaterThan(0)
  })
})
