/**
 * The hints a refused price field gets must be right: following one must not bill a price in the
 * wrong unit. LiteLLM's costs per character, second, request, page, GB or image are not token
 * rates (they were sent to `input` × 1,000,000), its file search is not web search (it was sent to
 * `webSearchPer1k`; it is read as `fileSearchPer1k` now), a cost per 1,000 tokens is not per
 * token (× 1,000, not × 1,000,000), and a per-million suffix on a threshold (`aboveInputTokensPer1M`) is not a rate. Fields the research
 * notes name (OpenAI's "cached input", LiteLLM's `provider_specific_entry`,
 * `regional_processing_uplift_multiplier_*`, `tiered_pricing`, snake_case per-million names) point
 * to the field holding that price. And a built-in entry extended with every documented field
 * still builds and bills.
 */
import { InvalidOptionsError } from '@aikit/core'
import {
  createPriceTable,
  type LongContextRates,
  type ModelPrice,
  PRICES,
  type PriceMultipliers,
  type PriceRates,
} from '@aikit/cost'
import { describe, expect, it } from 'vitest'

/** The message of the InvalidOptionsError an override of model `m` with `extra` fields throws. */
function hint(extra: object, at: 'entry' | 'longContext' = 'entry'): InvalidOptionsError {
  const entry =
    at === 'entry'
      ? { input: 3, output: 15, ...extra }
      : {
          input: 3,
          output: 15,
          longContext: { aboveInputTokens: 200_000, input: 6, output: 22.5, ...extra },
        }
  try {
    createPriceTable({ overrides: { m: entry } } as never)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return error as InvalidOptionsError
  }
  throw new Error('expected an InvalidOptionsError')
}

describe('a refused price field never points to a rate in another unit', () => {
  it.each([
    'input_cost_per_character',
    'output_cost_per_second',
    'input_cost_per_request',
    'input_cost_per_query',
    'file_search_cost_per_gb_per_day',
    'ocr_cost_per_page',
    'output_cost_per_image',
    'input_cost_per_video_per_second',
    'vector_store_cost_per_gb_per_day',
  ])('%s: a price per unit, not per token', (field) => {
    const error = hint({ [field]: 0.01 })
    expect(error.field).toBe(`overrides["m"].${field}`)
    expect(error.message).toContain('not per token')
    expect(error.message).not.toContain('1,000,000')
    expect(error.message).not.toContain('webSearchPer1k`')
  })

  it("file search is not web search: LiteLLM's per-1,000-calls fee is read as `fileSearchPer1k`", () => {
    const table = createPriceTable({
      overrides: { m: { input: 3, output: 15, file_search_cost_per_1k_calls: 2.5 } as never },
    })
    expect(table.resolve('m')?.price.fileSearchPer1k).toBe(2.5)
    expect(table.resolve('m')?.price.webSearchPer1k).toBeUndefined()
    expect(table.priceOf('m', { inputTokens: 0, outputTokens: 0, fileSearchCalls: 4 })).toBe(10_000)
    // Web searches stay at their own (default) price.
    expect(table.priceOf('m', { inputTokens: 0, outputTokens: 0, webSearchRequests: 1 })).toBe(
      10_000
    )
  })

  it('a cost per 1,000 tokens is multiplied by 1,000, not 1,000,000', () => {
    const litellm = hint({ computer_use_input_cost_per_1k_tokens: 0.003 })
    expect(litellm.message).toContain('1,000 tokens')
    expect(litellm.message).not.toContain('1,000,000)')
    for (const field of ['inputPer1K', 'input_per_1k_tokens']) {
      const error = hint({ [field]: 0.003 })
      expect(error.message).toContain('per 1,000 tokens')
      expect(error.message).toContain('`overrides["m"].input`')
    }
  })

  it('a per-million suffix on a field that is not a rate is not sent to it as a rate', () => {
    const error = hint({ aboveInputTokensPer1M: 0.2 }, 'longContext')
    expect(error.message).not.toContain('rates are USD per million tokens already')
  })
})

describe('fields from the price sheets the research reads point to the field holding that price', () => {
  it('per-million names in snake_case', () => {
    expect(hint({ cache_read_per_mtok: 0.3 }).message).toContain('`overrides["m"].cacheRead`')
    expect(hint({ cache_write_1h_per_mtok: 6 }).message).toContain('`overrides["m"].cacheWrite1h`')
    expect(hint({ output_per_million_tokens: 15 }).message).toContain('`overrides["m"].output`')
  })

  it("OpenAI's cached input is cacheRead", () => {
    for (const field of ['cachedInput', 'cached_input', 'cachedInputPer1M', 'cacheHits']) {
      expect(hint({ [field]: 0.5 }).message, field).toContain('`overrides["m"].cacheRead`')
    }
  })

  it("LiteLLM's multipliers and tiers", () => {
    const entry = hint({ provider_specific_entry: { us: 1.1, fast: 6 } })
    expect(entry.message).toContain('multipliers')
    expect(entry.message).toContain('speed')
    expect(entry.message).toContain('inferenceGeo')
    expect(hint({ regional_processing_uplift_multiplier_us: 1.1 }).message).toContain('multipliers')
    expect(hint({ tiered_pricing: [] }).message).toContain('longContext')
  })
})

describe('a built-in table extended with every documented field', () => {
  const rates: Required<PriceRates> = {
    input: 4,
    output: 20,
    cacheWrite5m: 5,
    cacheWrite1h: 8,
    cacheRead: 0.4,
  }
  const longContext: Required<LongContextRates> = {
    aboveInputTokens: 2_000_000,
    input: 8,
    output: 30,
    cacheWrite5m: 10,
    cacheWrite1h: 16,
    cacheRead: 0.8,
  }
  const multipliers: Required<PriceMultipliers> = {
    speed: { standard: 1, fast: 6 },
    inferenceGeo: { global: 1, us: 1.1 },
  }
  const every: Required<ModelPrice> = {
    ...rates,
    provider: 'anthropic',
    multipliers,
    webSearchPer1k: 10,
    webSearchPreviewPer1k: 25,
    fileSearchPer1k: 2.5,
    codeInterpreterPerContainer: 0.03,
    longContext,
    batchDiscountPercent: 50,
    priority: { ...rates, input: 8 },
    flex: { ...rates, input: 2 },
    asOf: '2026-11-27',
    source: 'test',
  }
  const million = { inputTokens: 1_000_000, outputTokens: 0 }

  it('builds, replacing a built-in entry or as a new one, and bills every field', () => {
    const tables: [ReturnType<typeof createPriceTable>, string][] = [
      [
        createPriceTable({ prices: PRICES }).extend({ overrides: { 'claude-opus-4-7': every } }),
        'claude-opus-4-7',
      ],
      [createPriceTable().extend({ overrides: { mine: every } }), 'mine'],
      [createPriceTable({ overrides: { 'claude-opus-4-7': every } }), 'claude-opus-4-7'],
    ]
    for (const [table, model] of tables) {
      expect(table.priceOf(model, million)).toBe(4_000_000)
      expect(table.priceOf(model, { ...million, serviceTier: 'priority' })).toBe(8_000_000)
      expect(table.priceOf(model, { ...million, serviceTier: 'flex' })).toBe(2_000_000)
      expect(table.priceOf(model, { ...million, speed: 'fast' })).toBe(24_000_000)
      expect(table.priceOf(model, { ...million, inferenceGeo: 'us' })).toBe(4_400_000)
      expect(table.priceOf(model, { ...million, cacheReadTokens: 1_000_000 })).toBe(4_400_000)
      expect(table.priceOf(model, { ...million, cacheWrite1hTokens: 1_000_000 })).toBe(12_000_000)
      // Above the long-context threshold: every token at its rates.
      expect(table.priceOf(model, { inputTokens: 3_000_000, outputTokens: 0 })).toBe(24_000_000)
      expect(
        table.priceOf(model, { inputTokens: 0, outputTokens: 0, webSearchRequests: 1000 })
      ).toBe(10_000_000)
      expect(table.priceOf(model, { inputTokens: 0, outputTokens: 0, fileSearchCalls: 1000 })).toBe(
        2_500_000
      )
      expect(
        table.priceOf(model, { inputTokens: 0, outputTokens: 0, codeInterpreterContainers: 2 })
      ).toBe(60_000)
    }
  })

  it('every built-in entry takes every documented field as a partial override', () => {
    for (const key of Object.keys(PRICES)) {
      const table = createPriceTable().extend({ overrides: { [key]: every } })
      expect(table.priceOf(key, million)).toBe(4_000_000)
    }
  })
})
