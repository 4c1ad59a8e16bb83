/**
 * `inference_geo` values that name no data-residency mode are billed as global inference:
 * Anthropic returns `"not_available"` on models without data residency (live responses carry
 * `"service_tier":"standard","inference_geo":"not_available"`), and `null` or `''` say nothing
 * either. Only a real geo is a paid mode: `'us'` at the entry's multiplier (1.1× from Opus 4.6 on),
 * a geo the entry does not list at `UNLISTED_MULTIPLIERS.inferenceGeo` (1.1×). An entry cannot
 * give `not_available` a multiplier other than 1 (it would be ignored).
 */
import { InvalidOptionsError } from '@aikit/core'
import { createBudget, createPriceTable, extractUsage, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const usage = (geo?: string | null) => ({
  input_tokens: 100_000,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  output_tokens: 0,
  service_tier: 'standard',
  ...(geo === undefined ? {} : { inference_geo: geo }),
})

describe('inference_geo that names no geo is billed as global', () => {
  it.each(['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-6'])(
    '%s: not_available, null and "" cost what the usage costs without the field',
    (model) => {
      const plain = priceOf(model, usage())
      expect(priceOf(model, usage('not_available'))).toBe(plain)
      expect(priceOf(model, usage(null))).toBe(plain)
      expect(priceOf(model, usage(''))).toBe(plain)
    }
  )

  it('a real-shaped Message from claude-sonnet-4-5 is billed $3 per million input tokens ($0.30 here)', () => {
    const msg = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'ok' }],
      usage: usage('not_available'),
    }
    const { model, usage: u } = extractUsage(msg)!
    expect(priceOf(model, u)).toBe(300_000)
  })

  it('a reservation asking for inferenceGeo not_available holds the global price', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const r = await budget.reserve('u', {
      model: 'claude-opus-4-6',
      inputTokens: 100_000,
      maxOutputTokens: 0,
      inferenceGeo: 'not_available',
    })
    expect(r.amountMicros).toBe(500_000)
  })
})

describe('real geos keep their multiplier', () => {
  it('US-only inference is billed 1.1× where the entry lists it', () => {
    expect(priceOf('claude-opus-4-6', usage('us'))).toBe(550_000)
  })

  it('a geo the entry does not list is billed the unlisted 1.1×', () => {
    expect(priceOf('claude-sonnet-4-5', usage('eu'))).toBe(330_000)
  })

  it('an entry may not give not_available a multiplier other than 1', () => {
    let error: unknown
    try {
      createPriceTable({
        overrides: {
          m: { input: 1, output: 1, multipliers: { inferenceGeo: { not_available: 2 } } },
        },
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe(
      'overrides["m"].multipliers.inferenceGeo.not_available'
    )
  })
})
