/**
 * OpenAI Responses web searches are charged: each `web_search_call` item of a Response's `output`
 * counts as one search in `Usage.webSearchRequests` (its `usage` has no such count), streamed or
 * not, so the call is priced its per-search fee on top of the tokens. A stream counts the final
 * event's `response.output`, or its `response.output_item.done` items (once per output index),
 * whichever is more, and a stream cut short is charged the searches it ran.
 *
 * Sources:
 * - gpt-5 rates (LiteLLM @00035b69): $1.25 input / $10 output per 1M tokens.
 * - OpenAI pricing page "Built-in tools" (quoted by OpenAI staff, community.openai.com/t/
 *   search-web-using-openai-api/1363698): "Web search (all models): $10 / 1k calls + search content
 *   tokens billed at model rates"; the `web_search_preview` tool is $10 / 1k on reasoning models.
 */
import { createStreamUsage, extractUsage, PRICES, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** 1000 input × $1.25 + 100 output × $10 = $0.00225. */
const TOKENS = 2_250
/** One search at $10 per 1,000. */
const SEARCH = 10_000

function searchCall(i: number): Record<string, unknown> {
  return {
    type: 'web_search_call',
    id: `ws_${i}`,
    status: 'completed',
    action: { type: 'search', query: `q${i}` },
  }
}

/** A Responses API `Response` with `searches` web search calls in its output. */
function responseWithSearches(searches: number): Record<string, unknown> {
  const output: unknown[] = []
  for (let i = 0; i < searches; i++) output.push(searchCall(i))
  output.push({
    type: 'message',
    id: 'msg_1',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: 'answer', annotations: [] }],
  })
  return {
    id: 'resp_1',
    object: 'response',
    model: 'gpt-5-2025-08-07',
    status: 'completed',
    output,
    usage: {
      input_tokens: 1000,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 100,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 1100,
    },
  }
}

describe('OpenAI Responses web_search_call items are charged per call', () => {
  it('the gpt-5 family lists $10 per 1,000 searches', () => {
    for (const key of ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.1', 'gpt-5.2', 'gpt-5.5']) {
      expect(PRICES[key]?.webSearchPer1k).toBe(10)
    }
  })

  it('extractUsage counts the web_search_call items of a Response', () => {
    const { model, usage } = extractUsage(responseWithSearches(3))!
    expect(usage.webSearchRequests).toBe(3)
    expect(priceOf(model, usage)).toBe(TOKENS + 3 * SEARCH)
  })

  it('a Response without searches has no search count (tokens only)', () => {
    const { model, usage } = extractUsage(responseWithSearches(0))!
    expect(usage.webSearchRequests).toBeUndefined()
    expect(priceOf(model, usage)).toBe(TOKENS)
  })

  it('a streamed Response is charged the searches of response.completed', () => {
    const s = createStreamUsage('openai-responses')
    const response = responseWithSearches(2)
    s.push({ type: 'response.created', response: { ...response, output: [], usage: null } })
    s.push({ type: 'response.completed', response })
    const { model, usage } = s.result()
    expect(usage.webSearchRequests).toBe(2)
    expect(priceOf(model, usage)).toBe(TOKENS + 2 * SEARCH)
  })

  it('counts response.output_item.done searches once per output index', () => {
    const s = createStreamUsage('openai-responses')
    const response = responseWithSearches(0)
    s.push({ type: 'response.created', response: { ...response, usage: null } })
    s.push({ type: 'response.output_item.done', output_index: 0, item: searchCall(0) })
    s.push({ type: 'response.output_item.done', output_index: 0, item: searchCall(0) })
    s.push({ type: 'response.output_item.done', output_index: 1, item: searchCall(1) })
    // The final event's output left out: the streamed items still count.
    s.push({ type: 'response.completed', response: { ...response, output: [] } })
    expect(s.result().usage.webSearchRequests).toBe(2)
  })

  it('a stream cut short after its searches is charged them (estimated usage)', () => {
    const s = createStreamUsage('openai-responses', { model: 'gpt-5', inputTokens: 1000 })
    s.push({ type: 'response.output_item.done', output_index: 0, item: searchCall(0) })
    const { complete, usage } = s.result()
    expect(complete).toBe(false)
    expect(usage.webSearchRequests).toBe(1)
    expect(priceOf('gpt-5', usage)).toBeGreaterThanOrEqual(1000 * 1.25 + SEARCH)
  })
})
