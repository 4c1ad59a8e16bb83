// OpenAI Chat Completions with `n` choices: each choice is up to the output limit long and the
// provider bills them all, so the worst case held on a budget (and a token limit) is n times it.
import { createBudget } from '@aikit/cost'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { wrapOpenAI } from '../src/openai/index.js'
import { openaiChat } from '../src/openai/spec.js'

let fake: FakeProvider
let raw: OpenAI

beforeAll(async () => {
  fake = await startFakeProvider()
  raw = new OpenAI({ apiKey: 'test-key', baseURL: fake.openaiBaseURL, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const MODEL = 'gpt-4o-mini'
const MAX = 1000
const messages = [{ role: 'user' as const, content: 'Write four haikus' }]

describe('chat.completions with n > 1 choices', () => {
  it('the estimate holds n × the output limit (n unset or invalid: 1)', () => {
    const estimate = (extra: Record<string, unknown>) =>
      openaiChat.estimate({ model: MODEL, messages, max_tokens: MAX, ...extra }, 4096)
        .maxOutputTokens
    expect(estimate({})).toBe(MAX)
    expect(estimate({ n: 4 })).toBe(4 * MAX)
    expect(estimate({ n: 0 })).toBe(MAX)
    expect(estimate({ n: 'x' })).toBe(MAX)
    expect(openaiChat.estimate({ model: MODEL, messages, n: 2 }, 4096).maxOutputTokens).toBe(8192)
  })

  it('a hard budget is not overrun: concurrent n = 4 calls that together exceed it are refused up front', async () => {
    // What one n = 4 call's worst case holds: the budget fits exactly one such call.
    const probe = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const one = await probe.reserve('p', { model: MODEL, messages, maxOutputTokens: 4 * MAX })
    const budget = createBudget({ limits: [{ period: 'day', micros: one.amountMicros }] })
    const client = wrapOpenAI(raw, { budget, subject: 'u', coalesce: false })
    // The provider bills all four choices, each as long as allowed.
    fake.setUsage({ inputTokens: 1, outputTokens: 4 * MAX })
    const results = await Promise.allSettled([
      client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX, n: 4 }),
      client.chat.completions.create({ model: MODEL, messages, max_tokens: MAX, n: 4 }),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toMatchObject({ code: 'BUDGET_EXCEEDED' })
    expect(fake.count('/v1/chat/completions')).toBe(1)
    const spend = await budget.spend('u')
    expect(spend.heldMicros).toBe(0)
    expect(spend.totalMicros).toBeLessThanOrEqual(spend.limitMicros)
  })
})
