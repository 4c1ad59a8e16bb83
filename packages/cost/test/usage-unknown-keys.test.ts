/**
 * A `Usage`-shaped object (camelCase `inputTokens` / `outputTokens`) with a key `Usage` does not
 * have is refused with `InvalidOptionsError` naming `usage.<key>`, never priced as if the key were
 * absent (its tokens billed $0): a misspelt cache count (`cacheWriteTokens`, `cachedTokens`), a
 * Bedrock Converse usage (`cacheReadInputTokens`, `cacheWriteInputTokens`) or an unknown key in a
 * compaction step. `totalTokens` (a sum of the other counts) and keys set to `undefined` bill
 * nothing and are accepted. At settle, such a usage is refused like any malformed usage: nothing is
 * charged below the call, the hold stays held, and a settle with a corrected usage charges it.
 *
 * Rule: README "Budgets" refuses an estimate key its form does not have (the hold would be below
 * the call's cost); price entries likewise ("a field it does not read is a price never charged").
 * Prices: claude-sonnet-4-5 $3 input / $3.75 5-minute cache write / $15 output (LiteLLM @00035b69).
 */
import { InvalidOptionsError } from '@aikit/core'
import { createBudget, normalizeUsage, priceOf } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

function refusal(fn: () => unknown): InvalidOptionsError | undefined {
  try {
    fn()
  } catch (error) {
    if (error instanceof InvalidOptionsError) return error
    throw error
  }
  return undefined
}

describe('unknown keys in a Usage are refused, not billed $0', () => {
  it('priceOf refuses a misspelt cache-write count, naming it', () => {
    // 100k 5-minute cache writes on Sonnet 4.5 cost $0.375; ignored, the call would price at $0.0045.
    const error = refusal(() =>
      priceOf('claude-sonnet-4-5', {
        inputTokens: 1000,
        outputTokens: 100,
        cacheWriteTokens: 100_000,
      })
    )
    expect(error?.field).toBe('usage.cacheWriteTokens')
    expect(error?.message).toContain('cacheWrite5mTokens')
  })

  it('normalizeUsage refuses a Bedrock Converse usage whose cache counts it would drop', () => {
    const error = refusal(() =>
      normalizeUsage({
        inputTokens: 1000,
        outputTokens: 100,
        totalTokens: 51_100,
        cacheReadInputTokens: 30_000,
        cacheWriteInputTokens: 20_000,
      })
    )
    expect(error?.field).toBe('usage.cacheReadInputTokens')
  })

  it('refuses an unknown key in a compaction step', () => {
    const error = refusal(() =>
      normalizeUsage({
        inputTokens: 1,
        outputTokens: 1,
        compactions: [{ inputTokens: 1, outputTokens: 1, cachedTokens: 5 }],
      })
    )
    expect(error?.field).toBe('usage.compactions[0].cachedTokens')
  })

  it('accepts totalTokens and keys set to undefined (nothing left unbilled)', () => {
    expect(
      priceOf('claude-sonnet-4-5', {
        inputTokens: 1000,
        outputTokens: 100,
        totalTokens: 1100,
        cachedTokens: undefined,
      })
    ).toBe(4500)
  })

  it('a settle with a misspelt key is refused; the hold stays and a corrected settle charges', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 10 }] })
    const hold = await budget.reserve('u-keys', {
      model: 'claude-sonnet-4-5',
      inputTokens: 101_000,
      maxOutputTokens: 100,
      cacheWrite: '5m',
    })
    await expect(
      hold.settle({ inputTokens: 1000, outputTokens: 100, cachedTokens: 100_000 })
    ).rejects.toMatchObject({ field: 'usage.cachedTokens' })
    expect((await budget.status('u-keys')).tightest?.heldMicros).toBe(hold.amountMicros)
    // 1000 × $3 + 100k × $3.75 + 100 × $15 = $0.003 + $0.375 + $0.0015
    const settled = await hold.settle({
      inputTokens: 1000,
      outputTokens: 100,
      cacheWrite5mTokens: 100_000,
    })
    expect(settled.chargedMicros).toBe(379_500)
  })
})
