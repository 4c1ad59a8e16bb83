/**
 * An OpenAI stream cut short (the caller left, the connection broke) never gets its final usage:
 * it is charged an estimate. A `service_tier: 'priority'` call is billed at the priority rates
 * (about 1.7× gpt-4o's standard ones), and every chunk (Chat) or response event (Responses) says
 * so: the estimate must be priced at that tier too, as the final usage would have been, or the
 * budget is charged below what the provider bills (and below what it held).
 */
import { createStreamUsage, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const MODEL = 'gpt-4o'
const chunk = (content: string, tier: string): Record<string, unknown> => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  model: MODEL,
  service_tier: tier,
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
})
const responseEvent = (type: string, tier: string): Record<string, unknown> => ({
  type,
  response: {
    id: 'resp_1',
    object: 'response',
    model: MODEL,
    status: 'in_progress',
    service_tier: tier,
    usage: null,
  },
})

describe('a cut OpenAI stream is estimated at the tier it runs on', () => {
  it('Chat Completions: priority chunks, no usage chunk → priced at the priority rates', () => {
    const u = createStreamUsage('openai-chat', { model: MODEL, inputTokens: 1000 })
    for (let i = 0; i < 40; i++) u.push(chunk('word ', 'priority'))
    const r = u.result()
    expect(r.complete).toBe(false)
    expect(r.usage).toMatchObject({ inputTokens: 1000, serviceTier: 'priority', estimated: true })
    const standard = { ...r.usage, serviceTier: undefined }
    expect(priceOf(MODEL, r.usage)).toBeGreaterThan(priceOf(MODEL, standard))
  })

  it('Responses: the tier of response.created prices a stream cut before response.completed', () => {
    const u = createStreamUsage('openai-responses', { model: MODEL, inputTokens: 1000 })
    u.push(responseEvent('response.created', 'flex'))
    u.push(responseEvent('response.in_progress', 'flex'))
    for (let i = 0; i < 40; i++) u.push({ type: 'response.output_text.delta', delta: 'word ' })
    expect(u.result().usage).toMatchObject({
      inputTokens: 1000,
      serviceTier: 'flex',
      estimated: true,
    })
  })

  it('a default tier stays at the standard rates', () => {
    const u = createStreamUsage('openai-chat', { model: MODEL, inputTokens: 10 })
    u.push(chunk('hello', 'default'))
    expect(u.result().usage.serviceTier).toBeUndefined()
    const r = createStreamUsage('openai-responses', { model: MODEL, inputTokens: 10 })
    r.push(responseEvent('response.created', 'auto'))
    expect(r.result().usage.serviceTier).toBeUndefined()
  })
})
