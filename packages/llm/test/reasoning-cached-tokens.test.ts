// Reasoning tokens and cached input are charged exactly as the provider bills them, and the
// 'llm call' log line counts input tokens as the metrics and the provider do (cached ones
// included, and also given apart); it used to count only the input billed at the plain rate.
import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: OpenAI
let rawA: Anthropic
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 })
  rawA = new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const messages = [{ role: 'user' as const, content: 'think' }]

describe('reasoning and cached tokens: charge, metrics and log line', () => {
  for (const stream of [false, true]) {
    it(`chat (stream ${stream}): charged priceOf(reported usage)`, async () => {
      fake.setUsage({
        inputTokens: 2000,
        cachedInputTokens: 1500,
        outputTokens: 300,
        reasoningTokens: 250,
      })
      const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
      const { metrics, logger } = recorders()
      const client = wrapOpenAI(raw, { budget, subject: 'u', metrics, logger })
      let usage: Record<string, unknown> | undefined
      if (stream) {
        const s = await client.chat.completions.create({
          model: 'gpt-5-mini',
          messages,
          max_completion_tokens: 1000,
          stream: true,
          stream_options: { include_usage: true },
        })
        for await (const c of s) if (c.usage) usage = c.usage as unknown as Record<string, unknown>
      } else {
        const r = await client.chat.completions.create({
          model: 'gpt-5-mini',
          messages,
          max_completion_tokens: 1000,
        })
        usage = r.usage as unknown as Record<string, unknown>
      }
      await until(() => logger.lines.length === 1)
      expect(usage).toBeDefined()
      const expected = priceOf('gpt-5-mini', usage as Record<string, unknown>)
      expect((await budget.spend('u')).totalMicros).toBe(expected)
      expect(metrics.calls[0]?.usage).toEqual({ inputTokens: 2000, outputTokens: 300 })
    })
  }

  it('chat: the log line input tokens agree with the metrics (cached input included)', async () => {
    fake.setUsage({ inputTokens: 2000, cachedInputTokens: 1500, outputTokens: 300 })
    const { metrics, logger } = recorders()
    const client = wrapOpenAI(raw, { metrics, logger })
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 100 })
    await until(() => logger.lines.length === 1)
    expect(metrics.calls[0]?.usage?.inputTokens).toBe(2000)
    // usage.prompt_tokens was 2000, 1500 of them cached.
    expect(logger.lines[0]).toMatchObject({
      inputTokens: 2000,
      cacheReadTokens: 1500,
      outputTokens: 300,
    })
    expect(logger.lines[0]).not.toHaveProperty('cacheWriteTokens')
  })

  it('anthropic: log line input tokens agree with the metrics (cache reads and writes included)', async () => {
    fake.setUsage({
      inputTokens: 20,
      cachedInputTokens: 1000,
      cacheCreationInputTokens: 500,
      outputTokens: 10,
    })
    const { metrics, logger } = recorders()
    const client = wrapAnthropic(rawA, { metrics, logger })
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages })
    await until(() => logger.lines.length === 1)
    expect(metrics.calls[0]?.usage?.inputTokens).toBe(1520)
    expect(logger.lines[0]?.inputTokens).toBe(metrics.calls[0]?.usage?.inputTokens)
    expect(logger.lines[0]).toMatchObject({ cacheReadTokens: 1000, cacheWriteTokens: 500 })
  })
})
