/**
 * A wrapped call whose tools include a server-side web search tool holds the searches' fee on the
 * budget before the provider is called, streamed or not: the budget's reservation is made from
 * counted tokens for a streamed call (`inputTokens` form), which carries the request's tools for
 * the searches they may run. A call whose searches alone exceed what is left is refused with
 * BUDGET_EXCEEDED and never reaches the provider.
 */
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'

let fake: FakeProvider
let raw: Anthropic

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new Anthropic({ apiKey: 'test-key', baseURL: fake.anthropicBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const params = {
  model: 'claude-haiku-4-5',
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'What changed in the news today?' }],
  tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 5 }],
}

describe('wrapAnthropic: a web search tool holds its searches', () => {
  it.each([
    ['streamed', true],
    ['not streamed', false],
  ])('%s: $0.03 left, five searches cost $0.05: refused before the provider', async (_, stream) => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 0.03 }] })
    const client = wrapAnthropic(raw, { budget, subject: 'searcher' })
    const call = stream
      ? client.messages.create({ ...params, stream: true })
      : client.messages.create(params)
    await expect(call).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count('/v1/messages')).toBe(0)
    expect((await budget.spend('searcher')).heldMicros).toBe(0)
  })

  it('without the search tool the same call fits', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 0.03 }] })
    const client = wrapAnthropic(raw, { budget, subject: 'plain' })
    const { tools: _tools, ...plain } = params
    const stream = await client.messages.create({ ...plain, stream: true })
    for await (const _event of stream) {
      // drained
    }
    expect(fake.count('/v1/messages')).toBe(1)
  })
})
