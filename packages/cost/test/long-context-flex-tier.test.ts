/**
 * Above its long-context threshold a request on the flex tier is billed at the FLEX rates times
 * the long-context multipliers, not at the standard tier's long-context rates; batch above the
 * threshold is the standard long-context rates halved; a flex request below the threshold keeps
 * the plain flex rates.
 *
 * Sources:
 * - GPT-5.5 rates (LiteLLM @00035b69, research/cost.md §1b): standard $5 in / $0.50 cached / $30
 *   out, above 272k input $10 / $1 / $45; flex $2.50 / $0.25 / $15; batch 50%.
 * - OpenAI developer docs, quoted by tokencost.app ("GPT-5.5 long context pricing cliff"): "prompts
 *   with more than 272K input tokens are priced at 2x input and 1.5x output for the full session,
 *   across the standard, batch, and flex tiers". Flex above 272k: $5 in / $0.50 cached / $22.50 out.
 */
import { createBudget, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

describe('GPT-5.5 long context on the flex and batch tiers', () => {
  it('flex above 272k input is flex × 2 input, × 1.5 output ($5 / $22.50), not $10 / $45', () => {
    // 300k × $5 + 10k × $22.50 = $1.50 + $0.225
    expect(
      priceOf('gpt-5.5', { inputTokens: 300_000, outputTokens: 10_000, serviceTier: 'flex' })
    ).toBe(1_725_000)
  })

  it('flex cached input above 272k is the flex cached rate × 2 ($0.50)', () => {
    // 100k × $5 + 200k cached × $0.50 + 0 output = $0.50 + $0.10
    expect(
      priceOf('gpt-5.5', {
        inputTokens: 100_000,
        cacheReadTokens: 200_000,
        outputTokens: 0,
        serviceTier: 'flex',
      })
    ).toBe(600_000)
  })

  it('flex at or below 272k input keeps the flex rates ($2.50 / $15)', () => {
    // 272k × $2.50 + 10k × $15 = $0.68 + $0.15
    expect(
      priceOf('gpt-5.5', { inputTokens: 272_000, outputTokens: 10_000, serviceTier: 'flex' })
    ).toBe(830_000)
  })

  it('batch above 272k is the standard long-context rates halved ($5 / $22.50)', () => {
    expect(
      priceOf('gpt-5.5', { inputTokens: 300_000, outputTokens: 10_000, serviceTier: 'batch' })
    ).toBe(1_725_000)
  })

  it('a flex reservation above 272k holds the flex long-context worst case', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const hold = await budget.reserve('flex-user', {
      model: 'gpt-5.5',
      inputTokens: 300_000,
      maxOutputTokens: 10_000,
      serviceTier: 'flex',
    })
    expect(hold.amountMicros).toBe(1_725_000)
  })
})
