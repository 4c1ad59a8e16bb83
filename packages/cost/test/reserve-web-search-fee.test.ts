/**
 * A reservation holds the web search fee of a request whose tools include a server-side web search
 * tool, as the settle charges it (per search, on top of the tokens, at the entry's `webSearchPer1k`):
 * - an Anthropic web search tool (`web_search_20250305`, …) holds its `max_uses` searches, and 5
 *   when it sets none (the API then caps nothing);
 * - an OpenAI Responses web search tool (`web_search`, `web_search_preview`: no per-tool cap)
 *   holds 5 searches, a `web_search_preview` one at the entry's `webSearchPreviewPer1k` ($25 per
 *   1,000 on gpt-4o, $10 on gpt-5) as the settle bills them;
 * - a call whose searches alone exceed what is left is rejected before anything is held;
 * - other tools hold no search, and `{ estimateMicros }` still holds exactly what it says.
 */
import {
  BudgetExceededError,
  createBudget,
  createPriceTable,
  estimateTokens,
  priceOf,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const MESSAGES = [{ role: 'user', content: 'What changed in the news today?' }]
const CLAUDE = 'claude-haiku-4-5'

/**
 * The hold the budget should make: tokens at the model's rates plus `searches` searches (at the
 * `web_search_preview` price when `preview`).
 */
function expected(
  model: string,
  tools: readonly unknown[],
  searches: number,
  preview = false
): number {
  const inputTokens = estimateTokens(MESSAGES, model, { tools })
  return priceOf(model, {
    inputTokens,
    outputTokens: 100,
    ...(searches > 0 ? { webSearchRequests: searches } : {}),
    ...(searches > 0 && preview ? { webSearchPreviewRequests: searches } : {}),
  })
}

async function holdOf(model: string, tools: readonly unknown[]): Promise<number> {
  const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
  const hold = await budget.reserve('ws-user', {
    model,
    messages: MESSAGES,
    tools,
    maxOutputTokens: 100,
  })
  return hold.amountMicros
}

describe('a reservation holds the web search fee of a server-side web search tool', () => {
  it('Anthropic: max_uses searches at $10 per 1,000 (5 searches = 50,000 µ$ on top)', async () => {
    const tools = [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }]
    const held = await holdOf(CLAUDE, tools)
    expect(held).toBe(expected(CLAUDE, tools, 5))
    expect(held - expected(CLAUDE, tools, 0)).toBe(50_000)
  })

  it('Anthropic: a smaller max_uses holds fewer searches; a newer tool version too', async () => {
    const two = [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }]
    expect(await holdOf(CLAUDE, two)).toBe(expected(CLAUDE, two, 2))
    const newer = [{ type: 'web_search_20260209', name: 'web_search', max_uses: 3 }]
    expect(await holdOf(CLAUDE, newer)).toBe(expected(CLAUDE, newer, 3))
  })

  it('Anthropic without max_uses: the documented default of 5 searches', async () => {
    const tools = [{ type: 'web_search_20250305', name: 'web_search' }]
    expect(await holdOf(CLAUDE, tools)).toBe(expected(CLAUDE, tools, 5))
  })

  it('OpenAI Responses web_search / web_search_preview: the default of 5 searches', async () => {
    for (const type of ['web_search', 'web_search_preview', 'web_search_2025_08_26']) {
      for (const model of ['gpt-4o', 'gpt-5']) {
        const tools = [{ type }]
        const preview = type === 'web_search_preview'
        expect(await holdOf(model, tools), `${type} on ${model}`).toBe(
          expected(model, tools, 5, preview)
        )
      }
    }
  })

  it('a table entry with its own search price holds the searches at that price', async () => {
    const prices = createPriceTable({ overrides: { 'gpt-4o': { webSearchPer1k: 25 } } })
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }], prices })
    const tools = [{ type: 'web_search_preview' }]
    const hold = await budget.reserve('ws-user', {
      model: 'gpt-4o',
      messages: MESSAGES,
      tools,
      maxOutputTokens: 100,
    })
    const tokens = prices.priceOf('gpt-4o', {
      inputTokens: estimateTokens(MESSAGES, 'gpt-4o', { tools }),
      outputTokens: 100,
    })
    expect(hold.amountMicros - tokens).toBe(5 * 25_000)
  })

  it('a call whose searches alone exceed what is left is rejected, nothing held', async () => {
    // $0.03 left; five searches cost $0.05 before any token.
    const budget = createBudget({ limits: [{ period: 'day', usd: 0.03 }] })
    await expect(
      budget.reserve('ws-user-2', {
        model: CLAUDE,
        messages: MESSAGES,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }],
        maxOutputTokens: 100,
      })
    ).rejects.toBeInstanceOf(BudgetExceededError)
    expect((await budget.status('ws-user-2')).limits[0]?.heldMicros).toBe(0)
  })

  it('function tools (even one named web_search) and web fetch hold no search', async () => {
    const tools = [
      { name: 'web_search', input_schema: { type: 'object' } },
      { type: 'function', name: 'web_search', parameters: { type: 'object' } },
      { type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 5 },
    ]
    expect(await holdOf(CLAUDE, tools)).toBe(expected(CLAUDE, tools, 0))
  })

  it('an explicit { estimateMicros } holds exactly that amount', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const hold = await budget.reserve('ws-user', { estimateMicros: 1234, model: CLAUDE })
    expect(hold.amountMicros).toBe(1234)
  })
})
