/**
 * A reservation's worst case is built from request fields the end user controls (the LLM wrapper
 * passes the request's output limit and `tools`): a huge `maxOutputTokens` or web search
 * `max_uses` can price it past `Number.MAX_SAFE_INTEGER` micro-dollars. Guaranteed: such a worst
 * case is held as `Number.MAX_SAFE_INTEGER`, above every limit (at most 2^50), so a hard budget
 * refuses it with `BudgetExceededError` (402 BUDGET_EXCEEDED) and holds nothing — never an
 * `InvalidOptionsError` (500 INVALID_OPTIONS naming the internal `usage` or `maxOutputTokens`).
 * With the built-in table and with another `PriceTable` alike. Pricing an ACTUAL usage stays
 * strict: a settle with an impossible usage is still refused, naming `usage`.
 */
import { InvalidOptionsError, memoryStore } from '@aikit/core'
import {
  type BudgetEstimate,
  BudgetExceededError,
  createBudget,
  createPriceTable,
  type PriceTable,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const MAX = Number.MAX_SAFE_INTEGER
const messages = [{ role: 'user' as const, content: 'search the web' }]
const webSearch = (maxUses: number) => ({
  type: 'web_search_20250305',
  name: 'web_search',
  max_uses: maxUses,
})

const HUGE: Record<string, BudgetEstimate> = {
  'one web search tool with max_uses 2^53 - 1': {
    model: 'claude-sonnet-4-5',
    messages,
    maxOutputTokens: 100,
    tools: [webSearch(MAX)],
  },
  'two web search tools whose max_uses sum past 2^53': {
    model: 'claude-sonnet-4-5',
    inputTokens: 10,
    maxOutputTokens: 100,
    tools: [webSearch(MAX), webSearch(MAX)],
  },
  'maxOutputTokens 2^53 - 1': { model: 'gpt-4o', inputTokens: 10, maxOutputTokens: MAX },
  'cache-write input tokens 2^53 - 1 (1h)': {
    model: 'claude-sonnet-4-5',
    inputTokens: MAX,
    maxOutputTokens: 1,
    cacheWrite: '1h',
  },
}

/** A `PriceTable` that `createPriceTable` did not make (it delegates to one that did). */
function delegatingTable(): PriceTable {
  const inner = createPriceTable()
  return {
    priceOf: (model, usage) => inner.priceOf(model, usage),
    resolve: (model) => inner.resolve(model),
    get unknownModels() {
      return inner.unknownModels
    },
    on: (event, listener) => inner.on(event, listener),
    extend: (more) => inner.extend(more),
  }
}

describe('a worst case past 2^53 micro-dollars', () => {
  for (const [name, estimate] of Object.entries(HUGE)) {
    it(`${name}: refused as over budget (402), nothing held`, async () => {
      const budget = createBudget({ store: memoryStore(), limits: [{ period: 'day', usd: 100 }] })
      const error = await budget.reserve('u', estimate).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BudgetExceededError)
      expect(error).toMatchObject({
        code: 'BUDGET_EXCEEDED',
        status: 402,
        details: { period: 'day', limitMicros: 100_000_000, requestedMicros: MAX },
      })
      expect((await budget.status('u')).limits[0]?.heldMicros).toBe(0)
    })
  }

  it('is refused as over budget with a price table createPriceTable did not make', async () => {
    const budget = createBudget({
      store: memoryStore(),
      prices: delegatingTable(),
      limits: [{ period: 'month', usd: 1000 }],
    })
    for (const estimate of Object.values(HUGE)) {
      await expect(budget.reserve('u', estimate)).rejects.toBeInstanceOf(BudgetExceededError)
    }
  })

  it('is refused even by the largest limit there can be (2^50 micro-dollars)', async () => {
    const budget = createBudget({ limits: [{ period: 'day', micros: 2 ** 50 }] })
    await expect(
      budget.reserve('u', HUGE['maxOutputTokens 2^53 - 1'] as BudgetEstimate)
    ).rejects.toBeInstanceOf(BudgetExceededError)
  })

  it('is held as 2^53 - 1 by a soft budget (it refuses nothing)', async () => {
    const budget = createBudget({ mode: 'soft', limits: [{ period: 'day', usd: 1 }] })
    const r = await budget.reserve(
      'u',
      HUGE['one web search tool with max_uses 2^53 - 1'] as BudgetEstimate
    )
    expect(r.amountMicros).toBe(MAX)
    expect(await r.release()).toBe(true)
  })

  it('a worst case of 2^53 - 1 or less is held exactly as priced', async () => {
    const table = createPriceTable({ fallback: { input: 1, output: 2 } })
    const budget = createBudget({ mode: 'soft', prices: table, limits: [] })
    // $1 per million input tokens: MAX tokens cost exactly MAX micro-dollars.
    const r = await budget.reserve('u', { model: 'x', inputTokens: MAX, maxOutputTokens: 0 })
    expect(r.amountMicros).toBe(MAX)
    const s = await budget.reserve('u', { model: 'x', inputTokens: 1_000_000, maxOutputTokens: 0 })
    expect(s.amountMicros).toBe(1_000_000)
    await r.release()
    await s.release()
  })

  it('settling an actual usage past 2^53 micro-dollars is still refused, naming usage', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const r = await budget.reserve('u', { model: 'gpt-4o', inputTokens: 10, maxOutputTokens: 10 })
    const error = await r.settle({ inputTokens: 0, outputTokens: MAX }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect(error).toMatchObject({ field: 'usage' })
  })
})
