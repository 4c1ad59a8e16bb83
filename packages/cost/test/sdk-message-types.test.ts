// The SDKs' own message types go straight into the estimators, the trimmer and a budget's
// reservation. `MessageLike` once had an index signature, which interfaces such as
// `Anthropic.MessageParam` lack: every call below was a type error (TS2345) and a user had to cast.
// `pnpm typecheck` (tsconfig.check.json includes the tests) is what checks the types here; the
// assertions check the values.
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { createBudget, estimateTokens, estimateTokensAsync, trimMessages } from '../src/index.js'

const anthropicMessages: Anthropic.MessageParam[] = [
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: [{ type: 'text', text: 'Paris.' }] },
  { role: 'user', content: [{ type: 'text', text: 'And of Italy?' }] },
]
const openaiMessages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Weather in Paris?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
]

describe("the SDKs' message types are accepted as they are", () => {
  it('estimateTokens and estimateTokensAsync take Anthropic and OpenAI message lists', async () => {
    const claude = estimateTokens(anthropicMessages, 'claude-haiku-4-5')
    expect(claude).toBeGreaterThan(0)
    expect(await estimateTokensAsync(anthropicMessages, 'claude-haiku-4-5')).toBe(claude)
    expect(estimateTokens(openaiMessages, 'gpt-4o')).toBeGreaterThan(0)
  })

  it('an inline message with a field MessageLike does not name is accepted', () => {
    const n = estimateTokens(
      [{ role: 'user', content: 'hi', cache_control: { type: 'ephemeral' } }],
      'claude-haiku-4-5'
    )
    expect(n).toBe(estimateTokens([{ role: 'user', content: 'hi' }], 'claude-haiku-4-5'))
  })

  it('trimMessages keeps the SDK type of the messages it returns', () => {
    const kept: OpenAI.Chat.ChatCompletionMessageParam[] = trimMessages(openaiMessages, {
      maxTokens: 10_000,
      model: 'gpt-4o',
    })
    expect(kept).toEqual(openaiMessages)
  })

  it('a budget reserves for an Anthropic message list', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const hold = await budget.reserve('alice', {
      model: 'claude-haiku-4-5',
      messages: anthropicMessages,
      maxOutputTokens: 100,
    })
    expect(hold.amountMicros).toBeGreaterThan(0)
    await hold.release()
  })
})
