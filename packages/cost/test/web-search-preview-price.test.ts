/**
 * OpenAI bills a Responses `web_search_call` by the tool that ran it: `web_search_preview` (any
 * dated version) on a non-reasoning model (gpt-4o and gpt-4.1 families, snapshots included) at
 * $25 per 1,000 calls, the GA `web_search` tool on any model and `web_search_preview` on a
 * reasoning model (gpt-5 family) at $10. Guaranteed here:
 * - `extractUsage` and `createStreamUsage` read which tool ran from the `tools` the Response
 *   echoes: preview-only marks every search `webSearchPreviewRequests`, GA-only marks none, both or
 *   neither listed mark them all (the higher price: a `web_search_call` does not say which ran);
 * - pricing bills those at the entry's `webSearchPreviewPer1k` (25 on gpt-4o / gpt-4.1, absent on
 *   gpt-5: its `webSearchPer1k`), the Number fast path and the BigInt path (compactions) alike;
 * - a usage claiming more preview searches than searches is refused;
 * - a reservation with a `web_search_preview` tool holds its searches at the preview price, and a
 *   settle charges what OpenAI bills.
 *
 * Source: OpenAI pricing page "Built-in tools", as quoted in
 * community.openai.com/t/search-web-using-openai-api/1363698: "Web search (all models): $10 / 1k
 * calls", "Web search preview (reasoning models, including gpt-5, o-series): $10 / 1k calls",
 * "Web search preview (non-reasoning models): $25 / 1k calls + search content tokens are free".
 */
import {
  createBudget,
  createPriceTable,
  createStreamUsage,
  estimateTokens,
  extractUsage,
  normalizeUsage,
  PRICES,
  priceOf,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** One search at $25 / $10 per 1,000, in micro-dollars. */
const PREVIEW = 25_000
const GA = 10_000
/** 1000 input + 100 output tokens: gpt-4o $2.50 / $10, gpt-5 $1.25 / $10 per 1M. */
const TOKENS: Record<string, number> = {
  'gpt-4o-2024-08-06': 3_500,
  'gpt-5-2025-08-07': 2_250,
}

const PREVIEW_TOOL = { type: 'web_search_preview', search_context_size: 'medium' }
const PREVIEW_DATED = { type: 'web_search_preview_2025_03_11', search_context_size: 'medium' }
const GA_TOOL = { type: 'web_search', search_context_size: 'medium' }
const GA_DATED = { type: 'web_search_2025_08_26' }
const FUNCTION_TOOL = { type: 'function', name: 'lookup', parameters: {} }

/** A Responses API `Response` of `model` with `searches` web search calls, echoing `tools`. */
function response(
  model: string,
  searches: number,
  tools: readonly unknown[] | undefined
): Record<string, unknown> {
  const output: unknown[] = []
  for (let i = 0; i < searches; i++) {
    output.push({
      type: 'web_search_call',
      id: `ws_${i}`,
      status: 'completed',
      action: { type: 'search', query: `q${i}` },
    })
  }
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
    model,
    status: 'completed',
    output,
    ...(tools === undefined ? {} : { tools }),
    usage: {
      input_tokens: 1000,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 100,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 1100,
    },
  }
}

/** What `extractUsage` prices a Response at. */
function billed(model: string, searches: number, tools: readonly unknown[] | undefined): number {
  const extracted = extractUsage(response(model, searches, tools))!
  return priceOf(extracted.model, extracted.usage)
}

/** What the same Response costs when streamed (`response.created` then `response.completed`). */
function billedStreamed(
  model: string,
  searches: number,
  tools: readonly unknown[] | undefined
): number {
  const s = createStreamUsage('openai-responses')
  const full = response(model, searches, tools)
  s.push({ type: 'response.created', response: { ...full, output: [], usage: null } })
  s.push({ type: 'response.completed', response: full })
  const { model: ran, usage } = s.result()
  return priceOf(ran, usage)
}

const GPT4O = 'gpt-4o-2024-08-06'
const GPT5 = 'gpt-5-2025-08-07'

describe('OpenAI web_search_preview is billed $25 per 1,000 on gpt-4o / gpt-4.1', () => {
  it('the gpt-4o and gpt-4.1 families list webSearchPreviewPer1k 25; gpt-5 lists none', () => {
    for (const key of [
      'gpt-4o',
      'gpt-4o-2024-05-13',
      'gpt-4o-mini',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-4.1-nano',
    ]) {
      expect(PRICES[key]?.webSearchPreviewPer1k, key).toBe(25)
    }
    for (const key of ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.1', 'gpt-5.2', 'gpt-5.5']) {
      expect(PRICES[key]?.webSearchPreviewPer1k, key).toBeUndefined()
    }
  })

  it('preview search on gpt-4o: $25 per 1,000, streamed or not, any dated version', () => {
    const { usage } = extractUsage(response(GPT4O, 2, [PREVIEW_TOOL]))!
    expect(usage.webSearchRequests).toBe(2)
    expect(usage.webSearchPreviewRequests).toBe(2)
    for (const tools of [[PREVIEW_TOOL], [PREVIEW_DATED], [FUNCTION_TOOL, PREVIEW_DATED]]) {
      expect(billed(GPT4O, 2, tools)).toBe(TOKENS[GPT4O]! + 2 * PREVIEW)
      expect(billedStreamed(GPT4O, 2, tools)).toBe(TOKENS[GPT4O]! + 2 * PREVIEW)
    }
  })

  it('every gpt-4o / gpt-4.1 model and snapshot bills preview searches at $25', () => {
    for (const model of [
      'gpt-4o',
      'gpt-4o-2024-05-13',
      'gpt-4o-mini-2024-07-18',
      'gpt-4.1-2025-04-14',
      'gpt-4.1-mini',
      'gpt-4.1-nano-2025-04-14',
    ]) {
      const tokensOnly = billed(model, 0, [PREVIEW_TOOL])
      expect(billed(model, 1, [PREVIEW_TOOL]) - tokensOnly, model).toBe(PREVIEW)
      expect(billed(model, 1, [GA_TOOL]) - tokensOnly, model).toBe(GA)
    }
  })

  it('GA web_search on gpt-4o: $10 per 1,000 (no preview searches)', () => {
    const { usage } = extractUsage(response(GPT4O, 3, [GA_TOOL]))!
    expect(usage.webSearchRequests).toBe(3)
    expect(usage.webSearchPreviewRequests).toBeUndefined()
    for (const tools of [[GA_TOOL], [GA_DATED], [FUNCTION_TOOL, GA_TOOL]]) {
      expect(billed(GPT4O, 3, tools)).toBe(TOKENS[GPT4O]! + 3 * GA)
      expect(billedStreamed(GPT4O, 3, tools)).toBe(TOKENS[GPT4O]! + 3 * GA)
    }
  })

  it('preview search on gpt-5 (reasoning): $10 per 1,000', () => {
    expect(billed(GPT5, 2, [PREVIEW_TOOL])).toBe(TOKENS[GPT5]! + 2 * GA)
    expect(billedStreamed(GPT5, 2, [PREVIEW_DATED])).toBe(TOKENS[GPT5]! + 2 * GA)
    expect(billed(GPT5, 2, [GA_TOOL])).toBe(TOKENS[GPT5]! + 2 * GA)
  })

  it('both tools listed, or no tools echoed: the preview price (which ran is unknown)', () => {
    for (const tools of [[GA_TOOL, PREVIEW_TOOL], [PREVIEW_DATED, GA_DATED], undefined]) {
      expect(billed(GPT4O, 2, tools)).toBe(TOKENS[GPT4O]! + 2 * PREVIEW)
      expect(billedStreamed(GPT4O, 2, tools)).toBe(TOKENS[GPT4O]! + 2 * PREVIEW)
    }
  })

  it('a stream cut short after response.created bills its searches by the tools it echoed', () => {
    for (const [tools, fee] of [
      [[PREVIEW_TOOL], PREVIEW],
      [[GA_TOOL], GA],
    ] as const) {
      const s = createStreamUsage('openai-responses', { model: 'gpt-4o', inputTokens: 1000 })
      const full = response(GPT4O, 0, tools)
      s.push({ type: 'response.created', response: { ...full, output: [], usage: null } })
      s.push({
        type: 'response.output_item.done',
        output_index: 0,
        item: { type: 'web_search_call', id: 'ws_0', status: 'completed' },
      })
      const { complete, model, usage } = s.result()
      expect(complete).toBe(false)
      expect(usage.webSearchRequests).toBe(1)
      const { webSearchRequests: _s, webSearchPreviewRequests: _p, ...tokens } = usage
      expect(priceOf(model, usage) - priceOf(model, tokens)).toBe(fee)
    }
  })

  it('a Usage given by hand: preview searches at the preview price, the rest at webSearchPer1k', () => {
    const usage = { inputTokens: 0, outputTokens: 0, webSearchRequests: 3 }
    expect(priceOf('gpt-4o', usage)).toBe(3 * GA)
    expect(priceOf('gpt-4o', { ...usage, webSearchPreviewRequests: 2 })).toBe(2 * PREVIEW + GA)
    expect(priceOf('gpt-4.1-mini', { ...usage, webSearchPreviewRequests: 3 })).toBe(3 * PREVIEW)
    expect(priceOf('gpt-5', { ...usage, webSearchPreviewRequests: 3 })).toBe(3 * GA)
    // Batch: the search fees are not discounted, preview or not.
    expect(priceOf('gpt-4o', { ...usage, webSearchPreviewRequests: 1, serviceTier: 'batch' })).toBe(
      PREVIEW + 2 * GA
    )
  })

  it('the BigInt path (a usage with compaction steps) prices preview searches the same', () => {
    const usage = {
      inputTokens: 1000,
      outputTokens: 100,
      webSearchRequests: 3,
      webSearchPreviewRequests: 2,
    }
    const step = { inputTokens: 1000, outputTokens: 100 }
    // A step costs what the same counts cost alone: the rest is the fast path's own price.
    const stepCost = priceOf('gpt-4o', step)
    expect(priceOf('gpt-4o', { ...usage, compactions: [step] })).toBe(
      priceOf('gpt-4o', usage) + stepCost
    )
    expect(priceOf('gpt-4o', usage)).toBe(3_500 + 2 * PREVIEW + GA)
  })

  it('refuses more preview searches than searches, and names the field', () => {
    const bad = {
      inputTokens: 0,
      outputTokens: 0,
      webSearchRequests: 1,
      webSearchPreviewRequests: 2,
    }
    expect(() => priceOf('gpt-4o', bad)).toThrow(
      expect.objectContaining({ field: 'usage.webSearchPreviewRequests' })
    )
    expect(() =>
      normalizeUsage({ inputTokens: 0, outputTokens: 0, webSearchPreviewRequests: 1 })
    ).toThrow(expect.objectContaining({ field: 'usage.webSearchPreviewRequests' }))
    expect(() =>
      priceOf('gpt-4o', {
        inputTokens: 0,
        outputTokens: 0,
        webSearchRequests: 1,
        webSearchPreviewRequests: 0.5,
      })
    ).toThrow(expect.objectContaining({ field: 'usage.webSearchPreviewRequests' }))
  })

  it('webSearchPreviewPer1k is validated and overridable; absent it is webSearchPer1k', () => {
    const usage = {
      inputTokens: 0,
      outputTokens: 0,
      webSearchRequests: 1,
      webSearchPreviewRequests: 1,
    }
    const table = createPriceTable({
      overrides: {
        'gpt-4o': { webSearchPreviewPer1k: 30 },
        mine: { input: 1, output: 1, webSearchPer1k: 12 },
      },
    })
    expect(table.priceOf('gpt-4o', usage)).toBe(30_000)
    expect(table.priceOf('mine', usage)).toBe(12_000)
    expect(() =>
      createPriceTable({ overrides: { 'gpt-4o': { webSearchPreviewPer1k: -1 } } })
    ).toThrow(expect.objectContaining({ field: 'overrides["gpt-4o"].webSearchPreviewPer1k' }))
  })
})

describe('a reservation holds preview searches at the preview price', () => {
  const MESSAGES = [{ role: 'user', content: 'What changed in the news today?' }]

  async function reserveAndSettle(
    model: string,
    tools: readonly unknown[]
  ): Promise<{ held: number; tokensOnly: number; charged: number }> {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const hold = await budget.reserve('ws-user', {
      model,
      messages: MESSAGES,
      tools,
      maxOutputTokens: 100,
    })
    // The tokens the hold prices (the tools' JSON is input): the rest is the search fee.
    const inputTokens = estimateTokens(MESSAGES, model, { tools })
    const tokensOnly = priceOf(model, { inputTokens, outputTokens: 100 })
    const extracted = extractUsage(response(model, 2, tools))!
    const outcome = await hold.settle(extracted.usage, { model: extracted.model })
    return { held: hold.amountMicros, tokensOnly, charged: outcome.chargedMicros }
  }

  it('web_search_preview on gpt-4o: 5 searches a tool held at $25, the settle charges $25 each', async () => {
    for (const tools of [[PREVIEW_TOOL], [PREVIEW_DATED], [FUNCTION_TOOL, PREVIEW_DATED]]) {
      const { held, tokensOnly, charged } = await reserveAndSettle('gpt-4o', tools)
      expect(held - tokensOnly).toBe(5 * PREVIEW)
      expect(charged).toBe(TOKENS[GPT4O]! + 2 * PREVIEW)
    }
    // Both tools (5 searches each): the settle bills every search at the preview price, so does the hold.
    const both = await reserveAndSettle('gpt-4o', [GA_TOOL, PREVIEW_TOOL])
    expect(both.held - both.tokensOnly).toBe(10 * PREVIEW)
    expect(both.charged).toBe(TOKENS[GPT4O]! + 2 * PREVIEW)
  })

  it('web_search_preview on gpt-4.1-mini: held and charged at $25', async () => {
    const { held, tokensOnly, charged } = await reserveAndSettle('gpt-4.1-mini', [PREVIEW_TOOL])
    expect(held - tokensOnly).toBe(5 * PREVIEW)
    // 1000 input × $0.40 + 100 output × $1.60 per 1M = 560 µ$.
    expect(charged).toBe(560 + 2 * PREVIEW)
  })

  it('GA web_search on gpt-4o, and web_search_preview on gpt-5: held at $10', async () => {
    const ga = await reserveAndSettle('gpt-4o', [GA_TOOL])
    expect(ga.held - ga.tokensOnly).toBe(5 * GA)
    expect(ga.charged).toBe(TOKENS[GPT4O]! + 2 * GA)
    const gpt5 = await reserveAndSettle('gpt-5', [PREVIEW_TOOL])
    expect(gpt5.held - gpt5.tokensOnly).toBe(5 * GA)
  })
})
