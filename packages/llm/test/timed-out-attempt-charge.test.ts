// A call the SDK answered on a later attempt, after it aborted an earlier one at its `timeout`, was
// charged for the answered attempt only. The provider does not stop a request when its client goes
// (unanswered.ts): the earlier generation ran to its end and was billed too. Each such attempt is
// now charged as the answered one (a non-streamed call) or its input (a stream, which the provider
// stops). An attempt the provider answered with an error status (a 429) is still never charged.
import { createBudget, defaultPriceTable } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { recorders } from './helpers.js'

let fake: FakeProvider
beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

/**
 * A wrapped client of `provider` with a budget; `retries` SDK retries and a 2 s timeout per attempt
 * (a hung attempt waits it out; the answered one must come within it on a loaded runner).
 */
function wrapped<P extends 'openai' | 'anthropic'>(provider: P, retries: number) {
  const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
  const { metrics } = recorders()
  const options = { budget, subject: 'u', metrics, coalesce: false }
  const sdk = { apiKey: 'k', maxRetries: retries, timeout: 2000 }
  const client =
    provider === 'openai'
      ? wrapOpenAI(new OpenAI({ ...sdk, baseURL: fake.openaiBaseURL }), options)
      : wrapAnthropic(new Anthropic({ ...sdk, baseURL: fake.anthropicBaseURL }), options)
  return { budget, metrics, client: client as P extends 'openai' ? OpenAI : Anthropic }
}
const openai = (retries: number) => wrapped('openai', retries)
const anthropic = (retries: number) => wrapped('anthropic', retries)

const chat = {
  model: 'gpt-4o',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'q' }],
}
const message = {
  model: 'claude-haiku-4-5',
  max_tokens: 200,
  messages: [{ role: 'user' as const, content: 'q' }],
}

describe('a call answered after an attempt the SDK timed out and retried', () => {
  it('OpenAI chat: charged for both attempts (the answered usage twice)', async () => {
    const once = openai(0)
    await once.client.chat.completions.create(chat)
    const single = (await once.budget.spend('u')).totalMicros
    expect(single).toBeGreaterThan(0)

    const retried = openai(1)
    fake.hangNext(1)
    await retried.client.chat.completions.create(chat)
    // The answered call, then the hung attempt and its retry.
    expect(fake.calls.length).toBe(3)
    // Priced once for the doubled usage: within a micro-dollar of twice the rounded single charge.
    const total = (await retried.budget.spend('u')).totalMicros
    expect(Math.abs(total - 2 * single)).toBeLessThanOrEqual(1)
  })

  it('Anthropic messages: charged for both attempts', async () => {
    const once = anthropic(0)
    await once.client.messages.create(message)
    const single = (await once.budget.spend('u')).totalMicros

    const retried = anthropic(1)
    fake.hangNext(1)
    await retried.client.messages.create(message)
    expect((await retried.budget.spend('u')).totalMicros).toBe(2 * single)
  })

  it('Anthropic stream: the timed-out attempt is charged its input', async () => {
    const once = anthropic(0)
    for await (const _ of await once.client.messages.create({ ...message, stream: true })) {
      // read to the end
    }
    const single = (await once.budget.spend('u')).totalMicros
    const usage = once.metrics.calls[0]?.usage
    expect(usage).toBeDefined()
    const input = defaultPriceTable().priceOf('claude-haiku-4-5', {
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: 0,
    })

    const retried = anthropic(1)
    fake.hangNext(1)
    for await (const _ of await retried.client.messages.create({ ...message, stream: true })) {
      // read to the end
    }
    expect((await retried.budget.spend('u')).totalMicros).toBe(single + input)
  })

  it('an attempt refused with 429, then answered: charged once', async () => {
    const once = openai(0)
    await once.client.chat.completions.create(chat)
    const single = (await once.budget.spend('u')).totalMicros

    const retried = openai(1)
    fake.failNext(1, { status: 429, retryAfter: 0.01 })
    await retried.client.chat.completions.create(chat)
    expect((await retried.budget.spend('u')).totalMicros).toBe(single)
  })
})
