/**
 * README.md's option table gives `defaultMaxOutputTokens` 4096: the output worst case held, and
 * sent as the request's limit, when a metered OpenAI request sets none. Observed here with the
 * option left out, through a real SDK against the fake provider. (The other defaults of the table,
 * `cacheSampling` false, `coalesce` true, `requireSubject` false and the token-limit key, are
 * pinned by cache-wiring, coalescing, anthropic and token-limit tests.)
 */
import { type Budget, createBudget, priceOf } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'

let fake: FakeProvider
let raw: OpenAI
beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())

const lastBody = () => fake.calls[fake.calls.length - 1]?.body as Record<string, unknown>
const messages = [{ role: 'user' as const, content: 'hi' }]

describe('defaultMaxOutputTokens: 4096', () => {
  it('is sent as the limit of a metered request that sets none', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u' })
    await client.chat.completions.create({ model: 'gpt-4o', messages })
    expect(lastBody().max_completion_tokens).toBe(4096)
    await client.responses.create({ model: 'gpt-4o', input: 'hi' })
    expect(lastBody().max_output_tokens).toBe(4096)
  })

  it("is the output part of the budget's hold", async () => {
    const held: number[] = []
    const inner = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const budget: Budget = {
      ...inner,
      reserve: async (subject, estimate) => {
        const r = await inner.reserve(subject, estimate)
        held.push(r.amountMicros)
        return r
      },
    }
    const client = wrapOpenAI(raw, { budget, subject: 'u' })
    await client.chat.completions.create({ model: 'gpt-4o', messages })
    const withoutOutput = priceOf('gpt-4o', { inputTokens: 1_000_000, outputTokens: 0 }) / 1e6
    const output = priceOf('gpt-4o', { inputTokens: 0, outputTokens: 4096 })
    // The input estimate is a few tokens: the hold is 4096 output tokens plus that.
    expect(held[0]).toBeGreaterThanOrEqual(output)
    expect(held[0]).toBeLessThan(output + 100 * withoutOutput)
  })
})
