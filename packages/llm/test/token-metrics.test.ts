// gen_ai_client_token_usage counts the provider's reported tokens only: a stream cut short before
// its final usage event is charged to the budget on an estimate, but no guessed token count
// reaches the metrics.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { recorders, until } from './helpers.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = (text: string) => ({
  model: 'claude-haiku-4-5',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: text }],
  stream: true as const,
})

describe('token usage metrics', () => {
  it('a complete stream reports the usage of its final event', async () => {
    const { metrics } = recorders()
    const client = wrapAnthropic(raw, { metrics })
    fake.setReply(() => 'word '.repeat(5))
    const stream = await client.messages.create(params('hello'))
    for await (const _ of stream) {
      // drain
    }
    await until(() => metrics.calls.length === 1)
    expect(metrics.calls[0]?.usage?.outputTokens).toBeGreaterThan(0)
  })

  it('a stream cut short is charged on an estimate but reports no token usage', async () => {
    const { metrics, logger } = recorders()
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const client = wrapAnthropic(raw, { metrics, logger, budget, subject: 'u' })
    fake.setStreamDelayMs(20)
    fake.setReply(() => 'word '.repeat(50))
    const stream = await client.messages.create(params('bye'))
    let seen = 0
    for await (const _ of stream) {
      if (++seen === 3) stream.controller.abort()
    }
    await until(() => metrics.calls.length === 1)
    expect(logger.lines[0]).toMatchObject({ outcome: 'aborted', estimated: true })
    expect((await budget.spend('u')).totalMicros).toBeGreaterThan(0)
    expect(metrics.calls[0]?.usage).toBeUndefined()
    expect(metrics.calls[0]?.costUsd).toBeGreaterThan(0)
  })
})
