/**
 * The price table: data sanity, alias resolution, unknown models (error or fallback, always
 * counted), overrides and extension at runtime, batch / flex / priority tiers, and the rounding rule.
 */
import { AikitError, InvalidOptionsError } from '@aikit/core'
import { createPriceTable, PRICES, priceOf, UnknownModelError } from '@aikit/cost'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

describe('the built-in price data', () => {
  it('every entry is dated and sourced, with non-negative rates', () => {
    for (const [key, p] of Object.entries(PRICES)) {
      expect(p.asOf, key).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(p.source.length, key).toBeGreaterThan(10)
      expect(p.input, key).toBeGreaterThanOrEqual(0)
      expect(p.output, key).toBeGreaterThan(p.input)
    }
  })

  it('Anthropic entries follow the 1.25× / 2× / 0.1× cache rule', () => {
    for (const [key, p] of Object.entries(PRICES)) {
      if (p.provider !== 'anthropic') continue
      expect(p.cacheWrite5m, key).toBeCloseTo(p.input * 1.25, 9)
      expect(p.cacheWrite1h, key).toBeCloseTo(p.input * 2, 9)
      expect(p.cacheRead, key).toBeCloseTo(p.input * 0.1, 9)
    }
  })
})

describe('model resolution', () => {
  const table = createPriceTable()
  it.each([
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
    ['claude-haiku-4-5-20251001', 'claude-haiku-4-5'],
    ['anthropic/claude-opus-4-1-20250805', 'claude-opus-4-1'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-2024-05-13', 'gpt-4o-2024-05-13'],
    ['openai/gpt-5-mini-2025-08-07', 'gpt-5-mini'],
    ['gpt-4.1-mini', 'gpt-4.1-mini'],
  ])('%s → %s', (model, key) => {
    expect(table.resolve(model)?.key).toBe(key)
  })

  it('an exact snapshot entry wins over its family', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 0 }
    expect(priceOf('gpt-4o-2024-05-13', usage)).toBe(5_000_000)
    expect(priceOf('gpt-4o-2024-11-20', usage)).toBe(2_500_000)
  })
})

describe('unknown models are never free', () => {
  it('throws UnknownModelError (an AikitError) and counts it', () => {
    const table = createPriceTable()
    const seen: unknown[] = []
    table.on('unknown-model', (e) => seen.push(e))
    let error: unknown
    try {
      table.priceOf('llama-9000', { inputTokens: 1, outputTokens: 1 })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UnknownModelError)
    expect(error).toBeInstanceOf(AikitError)
    expect(error).toMatchObject({ code: 'UNKNOWN_MODEL', model: 'llama-9000' })
    expect(table.unknownModels).toBe(1)
    expect(seen).toEqual([{ model: 'llama-9000', fallback: false }])
  })

  it('a configured fallback prices it, still counted', () => {
    const table = createPriceTable({ fallback: 'claude-opus-4-1' })
    expect(table.priceOf('mystery', { inputTokens: 1000, outputTokens: 1000 })).toBe(90_000)
    expect(table.unknownModels).toBe(1)
    const custom = createPriceTable({ fallback: { input: 100, output: 100 } })
    expect(custom.priceOf('mystery', { inputTokens: 10, outputTokens: 0 })).toBe(1000)
  })
})

describe('overrides, aliases and tiers', () => {
  it('a partial override keeps the other rates of the entry', () => {
    const table = createPriceTable({ overrides: { 'gpt-4o': { input: 2, output: 8 } } })
    // 1000 uncached × 2 + 1000 cached × 1.25 (kept) + 1000 × 8
    expect(
      table.priceOf('gpt-4o', { inputTokens: 1000, cacheReadTokens: 1000, outputTokens: 1000 })
    ).toBe(11_250)
  })

  it('new models and aliases can be added at runtime, and extend() layers on top', () => {
    const table = createPriceTable({
      overrides: { 'my-model': { input: 1, output: 2 } },
      aliases: { 'prod-deployment': 'gpt-4o-mini' },
    })
    expect(table.priceOf('my-model', { inputTokens: 1000, outputTokens: 1000 })).toBe(3000)
    expect(table.resolve('prod-deployment')?.key).toBe('gpt-4o-mini')
    const more = table.extend({ overrides: { 'my-model': { input: 10, output: 20 } } })
    expect(more.priceOf('my-model', { inputTokens: 1000, outputTokens: 1000 })).toBe(30_000)
    expect(more.resolve('prod-deployment')?.key).toBe('gpt-4o-mini')
    expect(table.priceOf('my-model', { inputTokens: 1000, outputTokens: 1000 })).toBe(3000)
  })

  it('batch halves the price; a model without a batch discount is not discounted', () => {
    // gpt-4o-mini: (10000×0.15 + 2000×0.6) × 50%
    expect(
      priceOf('gpt-4o-mini', { inputTokens: 10_000, outputTokens: 2000, serviceTier: 'batch' })
    ).toBe(1350)
    // gpt-5.2 has no batch discount in the data: full price (1000×1.75)
    expect(priceOf('gpt-5.2', { inputTokens: 1000, outputTokens: 0, serviceTier: 'batch' })).toBe(
      1750
    )
    // Anthropic batch: claude-haiku-4-5 (1000×1 + 1000×5) × 50%
    expect(
      priceOf('claude-haiku-4-5', { inputTokens: 1000, outputTokens: 1000, serviceTier: 'batch' })
    ).toBe(3000)
  })

  it('flex and priority tiers use their own rates', () => {
    expect(priceOf('gpt-5', { inputTokens: 1000, outputTokens: 1000, serviceTier: 'flex' })).toBe(
      5625
    )
    expect(
      priceOf('gpt-5', { inputTokens: 1000, outputTokens: 1000, serviceTier: 'priority' })
    ).toBe(22_500)
  })

  it('cached input keeps its discount on the priority and flex tiers (LiteLLM @00035b69)', () => {
    // 200k tokens: below every long-context threshold (gpt-5.5: 272k).
    const cached = (model: string, serviceTier?: 'priority' | 'flex') =>
      priceOf(model, {
        inputTokens: 0,
        cacheReadTokens: 200_000,
        outputTokens: 0,
        ...(serviceTier ? { serviceTier } : {}),
      })
    // USD per million cached tokens: cache_read_input_token_cost_priority / _flex.
    const expected: Array<[string, 'priority' | 'flex', number]> = [
      ['gpt-5', 'priority', 0.25],
      ['gpt-5', 'flex', 0.0625],
      ['gpt-5-mini', 'priority', 0.045],
      ['gpt-5-mini', 'flex', 0.0125],
      ['gpt-5-nano', 'flex', 0.0025],
      ['gpt-5.1', 'priority', 0.25],
      ['gpt-5.2', 'priority', 0.35],
      ['gpt-5.5', 'priority', 1],
      ['gpt-5.5', 'flex', 0.25],
      ['gpt-4.1', 'priority', 0.875],
      ['gpt-4.1-mini', 'priority', 0.175],
      ['gpt-4.1-nano', 'priority', 0.05],
      ['gpt-4o', 'priority', 2.125],
      ['gpt-4o-mini', 'priority', 0.125],
    ]
    for (const [model, tier, usd] of expected) {
      expect(cached(model, tier), `${model} ${tier}`).toBe(Math.ceil(usd * 200_000))
    }
    // On every OpenAI entry and tier, cached input costs the standard cached / uncached ratio of
    // the tier's uncached input (no more).
    for (const [model, p] of Object.entries(PRICES)) {
      if (p.provider !== 'openai') continue
      for (const tier of [undefined, 'priority', 'flex'] as const) {
        const rates = (tier && p[tier]) || p
        const uncached = priceOf(model, {
          inputTokens: 200_000,
          outputTokens: 0,
          ...(tier ? { serviceTier: tier } : {}),
        })
        expect(uncached, `${model} ${tier}`).toBe(Math.round(rates.input * 200_000))
        const ratio = (p.cacheRead ?? p.input) / p.input
        expect(cached(model, tier), `${model} ${tier}`).toBe(Math.ceil(uncached * ratio - 1e-6))
      }
    }
  })

  it('a tier without cache rates scales its input by the standard cache ratios', () => {
    const table = createPriceTable({
      overrides: {
        'gpt-5': { priority: { input: 3, output: 24 } },
        'claude-x': {
          provider: 'anthropic',
          input: 3,
          output: 15,
          cacheWrite5m: 3.75,
          cacheWrite1h: 6,
          cacheRead: 0.3,
          priority: { input: 5, output: 25 },
          longContext: { aboveInputTokens: 200_000, input: 6, output: 22.5 },
        },
      },
    })
    const mtok = (kind: string, serviceTier?: 'priority') =>
      table.priceOf(kind.startsWith('gpt') ? 'gpt-5' : 'claude-x', {
        inputTokens: 0,
        outputTokens: 0,
        [kind.replace(/^\w+:/, '')]: 1_000_000,
        ...(serviceTier ? { serviceTier } : {}),
      } as never)
    // gpt-5 priority at $3 input, standard cached ratio 0.125 / 1.25 = 0.1
    expect(mtok('gpt:cacheReadTokens', 'priority')).toBe(300_000)
    // Claude priority at $5: writes 1.25× / 2×, reads 0.1× (the standard ratios)
    expect(mtok('claude:cacheWrite5mTokens', 'priority')).toBe(6_250_000)
    expect(mtok('claude:cacheWrite1hTokens', 'priority')).toBe(10_000_000)
    expect(mtok('claude:cacheReadTokens', 'priority')).toBe(500_000)
    // Long context above 200k: $6 input → reads $0.60
    expect(
      table.priceOf('claude-x', { inputTokens: 0, cacheReadTokens: 1_000_000, outputTokens: 0 })
    ).toBe(600_000)
    // Listed tier rates win.
    const listed = createPriceTable({
      overrides: { 'gpt-5': { priority: { input: 3, output: 24, cacheRead: 0.7 } } },
    })
    expect(
      listed.priceOf('gpt-5', {
        inputTokens: 0,
        cacheReadTokens: 1_000_000,
        outputTokens: 0,
        serviceTier: 'priority',
      })
    ).toBe(700_000)
  })

  it('on(): an unknown event or a non-function listener is rejected, naming the field', () => {
    const table = createPriceTable()
    expect(() => table.on('unknown' as 'unknown-model', () => {})).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'event' })
    )
    expect(() => table.on('unknown-model', null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field: 'listener' })
    )
  })

  it('rejects bad entries naming the field', () => {
    expect(() => createPriceTable({ overrides: { x: { input: -1, output: 1 } } })).toThrow(
      expect.objectContaining({ field: 'overrides["x"].input' })
    )
    expect(() => createPriceTable({ overrides: { x: { input: 0.0000001, output: 1 } } })).toThrow(
      InvalidOptionsError
    )
    expect(() => createPriceTable({ aliases: { a: 'nope' } })).toThrow(
      expect.objectContaining({ field: 'aliases["a"]' })
    )
    expect(() => createPriceTable({ fallback: 'nope' })).toThrow(
      expect.objectContaining({ field: 'fallback' })
    )
    expect(() => priceOf('gpt-4o', { inputTokens: -1, outputTokens: 0 })).toThrow(
      expect.objectContaining({ field: 'usage.inputTokens' })
    )
  })
})

describe('pricing arithmetic', () => {
  it('is the exact rational cost rounded up, never below it (property)', () => {
    const table = createPriceTable()
    fc.assert(
      fc.property(
        fc.constantFrom('gpt-4.1-nano', 'gpt-5-nano', 'claude-sonnet-4-5', 'gpt-4o-mini'),
        fc.nat(300_000),
        fc.nat(100_000),
        fc.nat(100_000),
        (model, input, output, cached) => {
          const usage = { inputTokens: input, outputTokens: output, cacheReadTokens: cached }
          const micros = table.priceOf(model, usage)
          const p = table.resolve(model)!.price
          const long =
            p.longContext && input + cached > p.longContext.aboveInputTokens ? p.longContext : p
          // picodollars as exact integers (every rate has at most 6 decimals)
          const pico =
            BigInt(input) * BigInt(Math.round(long.input * 1e6)) +
            BigInt(output) * BigInt(Math.round(long.output * 1e6)) +
            BigInt(cached) * BigInt(Math.round((long.cacheRead ?? long.input) * 1e6))
          expect(BigInt(micros) * 1_000_000n >= pico).toBe(true)
          expect(BigInt(micros - 1) * 1_000_000n < pico || micros === 0).toBe(true)
        }
      ),
      { numRuns: 300 }
    )
  })
})
