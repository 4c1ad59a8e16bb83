/**
 * Long-context rates on the priority service tier. Claude Sonnet 4 / 4.5 bill EVERY token of a
 * request above 200k input tokens at the long-context rates; Claude entries have no priority rates
 * of their own, so a usage reporting `service_tier: 'priority'` is billed at the standard rates,
 * long context included (never the short-context rates), and a priority reservation holds that
 * worst case. An entry WITH its own priority rates (GPT-5.5) keeps billing those above its
 * long-context threshold, as before.
 */
import { createBudget, createPriceTable, extractUsage, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

// 250,000 input tokens at $6/MTok + 1,000 output at $22.50/MTok = $1.5225
const LONG = 1_522_500

describe('long-context rates on the priority tier (Claude Sonnet 4.5: no priority rates)', () => {
  it('a raw Anthropic usage with service_tier priority is billed at the long-context rates', () => {
    const at = (tier: string) =>
      priceOf('claude-sonnet-4-5', {
        input_tokens: 250_000,
        output_tokens: 1_000,
        service_tier: tier,
      })
    expect(at('standard')).toBe(LONG)
    expect(at('priority')).toBe(LONG)
  })

  it('below the threshold a priority call is billed at the standard short-context rates', () => {
    // 100k × $3 + 1k × $15 = $0.315
    expect(
      priceOf('claude-sonnet-4', {
        input_tokens: 100_000,
        output_tokens: 1_000,
        service_tier: 'priority',
      })
    ).toBe(315_000)
  })

  it('an Anthropic Message on the priority tier (extractUsage) is priced with long context', () => {
    const msg = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn',
      usage: {
        input_tokens: 50_000,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 200_000,
        output_tokens: 1_000,
        service_tier: 'priority',
      },
    }
    const { model, usage } = extractUsage(msg)!
    // 50k × 6 + 200k × 0.6 + 1k × 22.5 = 0.3 + 0.12 + 0.0225 = $0.4425
    expect(priceOf(model, usage)).toBe(442_500)
  })

  it('a priority reservation holds the long-context worst case', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 100 }] })
    const estimate = { model: 'claude-sonnet-4-5', inputTokens: 250_000, maxOutputTokens: 1_000 }
    const standard = await budget.reserve('u', estimate)
    const priority = await budget.reserve('u', { ...estimate, serviceTier: 'priority' })
    expect(standard.amountMicros).toBe(LONG)
    expect(priority.amountMicros).toBe(LONG)
  })
})

describe('an entry with its own priority rates', () => {
  it('GPT-5.5 priority above 272k input is billed at its priority rates, not long context', () => {
    // priority: $10 in / $60 out; 300k × 10 + 1k × 60 = $3.06
    expect(
      priceOf('gpt-5.5', { inputTokens: 300_000, outputTokens: 1_000, serviceTier: 'priority' })
    ).toBe(3_060_000)
  })

  it('a custom entry with priority and long-context rates bills priority at its priority rates', () => {
    const table = createPriceTable({
      overrides: {
        m: {
          input: 1,
          output: 2,
          priority: { input: 3, output: 4 },
          longContext: { aboveInputTokens: 100, input: 5, output: 6 },
        },
      },
    })
    expect(
      table.priceOf('m', { inputTokens: 1_000, outputTokens: 0, serviceTier: 'priority' })
    ).toBe(3_000)
    expect(table.priceOf('m', { inputTokens: 1_000, outputTokens: 0 })).toBe(5_000)
  })
})
