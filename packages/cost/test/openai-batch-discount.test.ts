/**
 * OpenAI Batch API calls are billed at half the standard token rates on every OpenAI entry the
 * Batch table lists, and a batch reservation holds that discounted worst case (not twice it).
 *
 * Sources:
 * - research/cost.md §1c: "Batch = 50% off".
 * - OpenAI pricing page, "Batch" table (copy: repo photiary/ai-foo `prompts/OpenAI-Pricing.md`
 *   @de2ab85): gpt-5 $0.625 in / $0.0625 cached / $5 out; gpt-5-mini $0.125 / $0.0125 / $1;
 *   gpt-5-nano $0.025 / $0.0025 / $0.20; gpt-4o-2024-05-13 $2.50 / $7.50 (no cached price).
 * - gpt-5.1: standard rates equal to gpt-5's ($1.25 / $0.125 / $10, LiteLLM @00035b69), batch by
 *   the 50% rule above: $0.625 / $0.0625 / $5.
 */
import { createBudget, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const MTOK = 1_000_000
const batch = { inputTokens: MTOK, outputTokens: MTOK, serviceTier: 'batch' } as const

describe('OpenAI Batch API discount (50% of every token rate)', () => {
  it.each([
    // model, µ$ for 1M input + 1M output at the Batch table's rates
    ['gpt-5', 625_000 + 5_000_000],
    ['gpt-5-mini', 125_000 + 1_000_000],
    ['gpt-5-nano', 25_000 + 200_000],
    ['gpt-5.1', 625_000 + 5_000_000],
    ['gpt-4o-2024-05-13', 2_500_000 + 7_500_000],
  ])('%s batch: 1M input + 1M output at the Batch rates', (model, micros) => {
    expect(priceOf(model, batch)).toBe(micros)
  })

  it('cached input is halved too (gpt-5 batch cached input $0.0625)', () => {
    expect(
      priceOf('gpt-5', {
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: MTOK,
        serviceTier: 'batch',
      })
    ).toBe(62_500)
  })

  it('a dated snapshot gets its family discount (gpt-5-mini-2025-08-07)', () => {
    expect(priceOf('gpt-5-mini-2025-08-07', batch)).toBe(1_125_000)
  })

  it('a batch reservation that fits at batch prices is not rejected', async () => {
    // Worst case at batch rates: 100k × $0.625 + 100k × $5 = $0.5625, under the $0.60 limit.
    const budget = createBudget({ limits: [{ period: 'day', usd: 0.6 }] })
    const hold = await budget.reserve('batch-user', {
      model: 'gpt-5',
      inputTokens: 100_000,
      maxOutputTokens: 100_000,
      serviceTier: 'batch',
    })
    expect(hold.amountMicros).toBe(562_500)
  })
})
