/**
 * A request's output limit (`max_completion_tokens` × `n` on OpenAI Chat, `max_output_tokens`,
 * Anthropic's `max_tokens`) and a web search tool's `max_uses` are the end user's. Guaranteed: a
 * worst case they push past 2^53 (tokens or micro-dollars) is refused by a hard budget as
 * BUDGET_EXCEEDED (402) before any provider call — never INVALID_OPTIONS (500) naming the
 * internal `maxOutputTokens` or `usage`. The estimate caps `max_completion_tokens × n` at
 * `Number.MAX_SAFE_INTEGER`. With a token limit (`tokenLimit`), the request is refused as any
 * request over the limit (RATE_LIMITED, 429), never INVALID_OPTIONS naming `units`.
 */
import { createBudget } from '@aikit/cost'
import { createRateLimiter } from '@aikit/ratelimit'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapAnthropic } from '../src/anthropic/index.js'
import { wrapOpenAI } from '../src/openai/index.js'
import { openaiChat } from '../src/openai/spec.js'

let fake: FakeProvider

beforeAll(async () => {
  fake = await startFakeProvider()
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MAX = Number.MAX_SAFE_INTEGER
const messages = [{ role: 'user' as const, content: 'hi' }]
const budgetOf = () => createBudget({ limits: [{ period: 'day', usd: 100 }] })
const openaiOn = (budget = budgetOf()) =>
  wrapOpenAI(new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }), {
    budget,
    subject: 'u',
    coalesce: false,
  })
const anthropicOn = (budget = budgetOf()) =>
  wrapAnthropic(new Anthropic({ apiKey: 'k', baseURL: fake.anthropicBaseURL, maxRetries: 0 }), {
    budget,
    subject: 'u',
  })

describe('a request whose worst case is past 2^53', () => {
  it('the Chat estimate caps max_completion_tokens × n at Number.MAX_SAFE_INTEGER', () => {
    const held = (extra: Record<string, unknown>) =>
      openaiChat.estimate({ model: 'gpt-4o', messages, ...extra }, 4096).maxOutputTokens
    expect(held({ max_completion_tokens: MAX, n: 128 })).toBe(MAX)
    expect(held({ max_tokens: 2 ** 40, n: 2 ** 20 })).toBe(MAX)
    expect(held({ max_completion_tokens: 1000, n: 4 })).toBe(4000)
  })

  it('OpenAI Chat with a huge max_completion_tokens × n: BUDGET_EXCEEDED, no provider call', async () => {
    const budget = budgetOf()
    const client = openaiOn(budget)
    for (const limits of [
      { max_completion_tokens: MAX, n: 128 },
      { max_tokens: 2 ** 40, n: 2 ** 20 },
      { max_completion_tokens: MAX },
    ]) {
      await expect(
        client.chat.completions.create({ model: 'gpt-4o', messages, ...limits })
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 })
      // The same in a stream (its input is counted once, for the meter, before the reserve).
      await expect(
        client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, ...limits })
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    }
    expect(fake.count('/v1/chat/completions')).toBe(0)
    expect((await budget.spend('u')).heldMicros).toBe(0)
  })

  it('OpenAI Responses with a huge max_output_tokens: BUDGET_EXCEEDED, no provider call', async () => {
    await expect(
      openaiOn().responses.create({ model: 'gpt-4o', input: 'hi', max_output_tokens: MAX })
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count('/v1/responses')).toBe(0)
  })

  it('Anthropic with a huge max_tokens or web search max_uses: BUDGET_EXCEEDED, no provider call', async () => {
    const client = anthropicOn()
    await expect(
      client.messages.create({ model: 'claude-sonnet-4-5', messages, max_tokens: MAX })
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    await expect(
      client.messages.create({
        model: 'claude-sonnet-4-5',
        messages,
        max_tokens: 100,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: MAX }],
      })
    ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count('/v1/messages')).toBe(0)
  })

  it('with a token limit: RATE_LIMITED (429), not INVALID_OPTIONS, no provider call', async () => {
    const limiter = createRateLimiter({ limits: [{ limit: 100_000, window: '1h' }] })
    const client = wrapOpenAI(
      new OpenAI({ apiKey: 'k', baseURL: fake.openaiBaseURL, maxRetries: 0 }),
      { tokenLimit: limiter, subject: 'u', coalesce: false }
    )
    await expect(
      client.chat.completions.create({
        model: 'gpt-4o',
        messages,
        max_completion_tokens: MAX,
        n: 128,
      })
    ).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429 })
    expect(fake.count('/v1/chat/completions')).toBe(0)
  })
})
