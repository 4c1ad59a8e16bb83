/**
 * What a usage reports beyond token counts, priced from data in the table (research/cost.md §1a:
 * LiteLLM `provider_specific_entry: { us: 1.1, fast: 6 }` on the newest Claude models;
 * `search_context_cost_per_query` 0.01): fast mode 6×, US-only inference 1.1×, both on every token
 * rate (cache rates included) and on each other, and server-side web searches at $10 per 1,000.
 * Also: a cost too large for a Number is refused, never rounded below the true cost.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createPriceTable, PRICES, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const base = {
  input_tokens: 1000,
  output_tokens: 1000,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
}

describe('fast mode and US-only inference multiply every token rate', () => {
  it('bills fast mode (usage.speed "fast") at 6× the standard rates (LiteLLM provider_specific_entry.fast)', () => {
    const standard = priceOf('claude-opus-4-6', { ...base, speed: 'standard' })
    expect(standard).toBe(30_000) // 1000×5 + 1000×25
    expect(priceOf('claude-opus-4-6', { ...base, speed: 'fast' })).toBe(6 * standard)
  })

  it('bills US-only inference (usage.inference_geo "us") at 1.1× (LiteLLM provider_specific_entry.us)', () => {
    expect(priceOf('claude-opus-4-6', { ...base, inference_geo: 'global' })).toBe(30_000)
    expect(priceOf('claude-opus-4-6', { ...base, inference_geo: 'us' })).toBe(33_000)
  })

  it('multiplies fast mode and US-only inference together (6 × 1.1 = 6.6×)', () => {
    expect(priceOf('claude-opus-4-7', { ...base, speed: 'fast', inference_geo: 'us' })).toBe(
      198_000
    )
  })

  it('multiplies cache reads and writes (5-minute and 1-hour) too', () => {
    const usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 2000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 1000 },
      inference_geo: 'us',
    }
    // (1000×0.5 + 1000×6.25 + 1000×10) × 1.1 = 18,425 µ$
    expect(priceOf('claude-opus-4-6', usage)).toBe(18_425)
    // fast: × 6 = 100,500 µ$ before the geo
    expect(priceOf('claude-opus-4-6', { ...usage, inference_geo: null, speed: 'fast' })).toBe(
      100_500
    )
  })

  it('lists the multipliers as data on the newest Claude entries only', () => {
    const fastAndUs = { speed: { fast: 6 }, inferenceGeo: { us: 1.1 } }
    expect(PRICES['claude-opus-4-7']?.multipliers).toEqual(fastAndUs)
    expect(PRICES['claude-opus-4-6']?.multipliers).toEqual(fastAndUs)
    expect(PRICES['claude-fable-5']?.multipliers).toEqual(fastAndUs)
    expect(PRICES['claude-sonnet-5']?.multipliers).toEqual({ inferenceGeo: { us: 1.1 } })
    expect(PRICES['claude-sonnet-4-6']?.multipliers).toEqual({ inferenceGeo: { us: 1.1 } })
    for (const older of [
      'claude-opus-4-5',
      'claude-opus-4-1',
      'claude-sonnet-4-5',
      'claude-haiku-4-5',
    ]) {
      expect(PRICES[older]?.multipliers, older).toBeUndefined()
    }
  })

  it('applies to a Usage object and through the batch discount', () => {
    const usage = {
      inputTokens: 1000,
      outputTokens: 1000,
      speed: 'fast',
      serviceTier: 'batch',
    } as const
    expect(priceOf('claude-opus-4-6', usage)).toBe(90_000) // 180,000 × 50%
  })

  it('never bills a reported mode at 1× when the entry lists no multiplier for it', () => {
    // Sonnet 4.6 has no fast mode listed: a usage saying "fast" is billed the unlisted 6×.
    expect(priceOf('claude-sonnet-4-6', { ...base, speed: 'fast' })).toBe(6 * 18_000)
    // A geo the entry does not list (a future "eu"): the unlisted 1.1×.
    expect(priceOf('claude-opus-4-6', { ...base, inference_geo: 'eu' })).toBe(33_000)
    // A custom entry (here the fallback) with no multipliers at all.
    const table = createPriceTable({ fallback: { input: 1, output: 1 } })
    expect(table.priceOf('my-model', { inputTokens: 1000, outputTokens: 0, speed: 'fast' })).toBe(
      6000
    )
    expect(
      table.priceOf('my-model', { inputTokens: 1000, outputTokens: 0, inferenceGeo: 'us' })
    ).toBe(1100)
  })

  it('takes multipliers from an override (the whole object is replaced)', () => {
    const table = createPriceTable({
      overrides: { 'claude-opus-4-6': { multipliers: { speed: { fast: 2 } } } },
    })
    expect(table.priceOf('claude-opus-4-6', { ...base, speed: 'fast' })).toBe(60_000)
    // inferenceGeo was replaced away: "us" is now unlisted, still 1.1×, never 1×.
    expect(table.priceOf('claude-opus-4-6', { ...base, inference_geo: 'us' })).toBe(33_000)
  })

  it('rejects bad multipliers, naming the field', () => {
    const bad = (multipliers: unknown, field: string) =>
      expect(() =>
        createPriceTable({ overrides: { x: { input: 1, output: 1, multipliers } as never } })
      ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', field }))
    bad('fast', 'overrides["x"].multipliers')
    bad({ speed: [6] }, 'overrides["x"].multipliers.speed')
    bad({ speed: { fast: 0 } }, 'overrides["x"].multipliers.speed.fast')
    bad({ inferenceGeo: { us: -1.1 } }, 'overrides["x"].multipliers.inferenceGeo.us')
    bad({ speed: { fast: Number.POSITIVE_INFINITY } }, 'overrides["x"].multipliers.speed.fast')
  })

  it('rejects a Usage speed or inferenceGeo that is not a string, naming the field', () => {
    expect(() => priceOf('claude-opus-4-6', { inputTokens: 1, outputTokens: 1, speed: 6 })).toThrow(
      expect.objectContaining({ field: 'usage.speed' })
    )
    expect(() =>
      priceOf('claude-opus-4-6', { inputTokens: 1, outputTokens: 1, inferenceGeo: 1 })
    ).toThrow(expect.objectContaining({ field: 'usage.inferenceGeo' }))
  })
})

describe('server-side web searches', () => {
  const usage = { ...base, server_tool_use: { web_search_requests: 3, web_fetch_requests: 0 } }

  it('bills server-side web searches (usage.server_tool_use.web_search_requests) at $10 per 1,000', () => {
    // tokens: 1000×3 + 1000×15 = 18,000 µ$; three searches: 3 × $0.01 = 30,000 µ$
    expect(priceOf('claude-sonnet-4-5', usage)).toBe(48_000)
  })

  it('lists $10 per 1,000 searches on every Claude entry', () => {
    for (const [key, p] of Object.entries(PRICES)) {
      if (p.provider === 'anthropic') expect(p.webSearchPer1k, key).toBe(10)
    }
  })

  it('does not batch-discount or multiply the search fee', () => {
    expect(priceOf('claude-sonnet-4-5', { ...usage, service_tier: 'batch' })).toBe(9000 + 30_000)
    expect(priceOf('claude-opus-4-6', { ...usage, speed: 'fast' })).toBe(180_000 + 30_000)
  })

  it('bills searches on an entry without webSearchPer1k at $10 per 1,000, never free', () => {
    expect(priceOf('gpt-4o', { inputTokens: 0, outputTokens: 0, webSearchRequests: 1 })).toBe(
      10_000
    )
  })

  it('takes the per-search price from an override, and rejects a bad one naming the field', () => {
    const table = createPriceTable({ overrides: { 'claude-sonnet-4-5': { webSearchPer1k: 25 } } })
    expect(table.priceOf('claude-sonnet-4-5', usage)).toBe(18_000 + 75_000)
    expect(() =>
      createPriceTable({ overrides: { 'claude-sonnet-4-5': { webSearchPer1k: -1 } } })
    ).toThrow(expect.objectContaining({ field: 'overrides["claude-sonnet-4-5"].webSearchPer1k' }))
    expect(() =>
      priceOf('claude-sonnet-4-5', { inputTokens: 0, outputTokens: 0, webSearchRequests: 0.5 })
    ).toThrow(expect.objectContaining({ field: 'usage.webSearchRequests' }))
  })
})

describe('huge token counts', () => {
  it('never prices a call below its true cost past 2^53 micro-dollars: it refuses it, naming usage', () => {
    // 120,095,990,063,215 output tokens × $75/MTok = 9,007,199,254,741,125 µ$ exactly (> 2^53):
    // as a Number it would round to 9,007,199,254,741,124, one micro-dollar below.
    const tokens = 120_095_990_063_215
    let thrown: unknown
    try {
      priceOf('claude-opus-4-1', { inputTokens: 0, outputTokens: tokens })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidOptionsError)
    expect(thrown).toMatchObject({ code: 'INVALID_OPTIONS', field: 'usage' })
  })

  it('still prices a cost of exactly Number.MAX_SAFE_INTEGER micro-dollars exactly', () => {
    const table = createPriceTable({ fallback: { input: 1, output: 2 } })
    const max = Number.MAX_SAFE_INTEGER
    expect(table.priceOf('x', { inputTokens: max, outputTokens: 0 })).toBe(max)
    expect(() => table.priceOf('x', { inputTokens: 0, outputTokens: max })).toThrow(
      expect.objectContaining({ field: 'usage' })
    )
  })
})
