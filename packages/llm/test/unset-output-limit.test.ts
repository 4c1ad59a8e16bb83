// An OpenAI request may leave its output limit out (`max_tokens` / `max_completion_tokens`,
// `max_output_tokens`): the budget then holds `defaultMaxOutputTokens` of output, but the provider
// may answer up to the model's own maximum (16k for gpt-4o, 128k for gpt-5) and bill all of it.
// Settled "even above the hold", one such call alone overran a budget several times over, and
// concurrent ones each held far less than they cost. The held limit is now the request's limit.
import { createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { mapCache, until } from './helpers.js'

let fake: FakeProvider
let raw: OpenAI
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
beforeEach(() => {
  fake.reset()
  // A long answer: about 2,500 tokens by the fake's count unless the request limits it.
  fake.setReply(() => 'word '.repeat(2000))
})
afterAll(() => fake.close())

const MAX = 100
const messages = [{ role: 'user' as const, content: 'tell me everything' }]
/** Room for one call's worst case: its input and `MAX` output tokens. */
const limitMicros = priceOf('gpt-4o', { inputTokens: 50, outputTokens: MAX })

const setup = () => {
  const budget = createBudget({ limits: [{ period: 'day', micros: limitMicros }] })
  const client = wrapOpenAI(raw, { budget, subject: 'u', defaultMaxOutputTokens: MAX })
  return { budget, client }
}
const lastBody = () => fake.calls[fake.calls.length - 1]?.body as Record<string, unknown>

describe('a request without an output limit is sent with the one the budget held', () => {
  it('chat: max_completion_tokens is the held limit; the charge stays within the budget', async () => {
    const { budget, client } = setup()
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages })
    expect(lastBody().max_completion_tokens).toBe(MAX)
    expect(answer.usage?.completion_tokens).toBeLessThanOrEqual(MAX)
    const spend = await budget.spend('u')
    expect(spend.totalMicros).toBeLessThanOrEqual(limitMicros)
  })

  it('chat stream: the same limit (with the usage chunk still injected)', async () => {
    const { budget, client } = setup()
    for await (const _ of await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      stream: true,
    })) {
    }
    expect(lastBody()).toMatchObject({
      max_completion_tokens: MAX,
      stream_options: { include_usage: true },
    })
    let spend = await budget.spend('u')
    while (spend.heldMicros > 0) spend = await budget.spend('u')
    expect(spend.totalMicros).toBeGreaterThan(0)
    expect(spend.totalMicros).toBeLessThanOrEqual(limitMicros)
  })

  it('responses: max_output_tokens is the held limit', async () => {
    const { budget, client } = setup()
    await client.responses.create({ model: 'gpt-4o', input: 'tell me everything' })
    expect(lastBody().max_output_tokens).toBe(MAX)
    expect((await budget.spend('u')).totalMicros).toBeLessThanOrEqual(limitMicros)
  })

  it("a request's own limit is sent as it is (max_tokens too)", async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u', defaultMaxOutputTokens: MAX })
    await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 60 })
    expect(lastBody().max_tokens).toBe(60)
    expect('max_completion_tokens' in lastBody()).toBe(false)
    await client.responses.create({ model: 'gpt-4o', input: 'x', max_output_tokens: 70 })
    expect(lastBody().max_output_tokens).toBe(70)
  })

  it("the cache key is the caller's request: metered or not, the same request shares one entry", async () => {
    // An answer within the held limit: one cut at it is not stored (injected-limit-not-cached).
    fake.setReply(() => 'a short answer')
    const cache = mapCache()
    const seen: unknown[] = []
    const cacheKey = (params: Record<string, unknown>) => {
      seen.push(params)
      return undefined
    }
    const metered = wrapOpenAI(raw, {
      budget: setup().budget,
      subject: 'u',
      cache,
      defaultMaxOutputTokens: MAX,
    })
    const unmetered = wrapOpenAI(raw, { cache, subject: 'u' })
    const ask = (client: OpenAI) =>
      client.chat.completions.create({ model: 'gpt-4o', messages, temperature: 0 })
    const stored = await ask(metered)
    expect(lastBody().max_completion_tokens).toBe(MAX)
    await until(() => cache.sets === 1)
    const calls = fake.calls.length
    expect((await ask(unmetered)).choices).toEqual(stored.choices)
    expect(fake.calls.length).toBe(calls)
    // A custom key is given the caller's params too (not those sent, with the held limit).
    const custom = wrapOpenAI(raw, {
      budget: setup().budget,
      subject: 'u',
      cache,
      cacheKey,
      defaultMaxOutputTokens: MAX,
    })
    await ask(custom)
    expect(seen).toEqual([{ model: 'gpt-4o', messages, temperature: 0 }])
  })

  it('without a budget or token limit the request is sent unchanged', async () => {
    const client = wrapOpenAI(raw, { subject: 'u', defaultMaxOutputTokens: MAX })
    await client.chat.completions.create({ model: 'gpt-4o', messages })
    expect('max_completion_tokens' in lastBody()).toBe(false)
  })
})
