import type { ModelPrice, PriceMultipliers, Usage } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/cost', async () => {
    expect(Object.keys(await import('@aikit/cost')).sort()).toEqual([
      'BudgetExceededError',
      'MEDIA_TOKENS',
      'PDF_PAGE_TOKENS',
      'PRICES',
      'UnknownModelError',
      'approximateTokens',
      'budgetHeaders',
      'createBudget',
      'createPriceTable',
      'createStreamUsage',
      'defaultPriceTable',
      'estimateMessageTokens',
      'estimateTextTokens',
      'estimateTokens',
      'estimateTokensAsync',
      'extractUsage',
      'filterOpenAIChunk',
      'formatUsd',
      'isUsageChunk',
      'meterStream',
      'normalizeUsage',
      'prepareOpenAIStreamParams',
      'priceOf',
      'totalInputTokens',
      'trimMessages',
    ])
  })

  // Compile-time pins (tsc checks this file): the public billing-mode fields of `Usage` and of a
  // price entry. Renaming or dropping one fails the type check.
  it('@aikit/cost types: Usage speed / inferenceGeo / webSearchRequests, ModelPrice multipliers / webSearchPer1k', () => {
    const usage: Required<Pick<Usage, 'speed' | 'inferenceGeo' | 'webSearchRequests'>> = {
      speed: 'fast',
      inferenceGeo: 'us',
      webSearchRequests: 1,
    }
    const multipliers: Required<PriceMultipliers> = {
      speed: { fast: 6 },
      inferenceGeo: { us: 1.1 },
    }
    const price: Required<Pick<ModelPrice, 'multipliers' | 'webSearchPer1k'>> = {
      multipliers,
      webSearchPer1k: 10,
    }
    expect(usage.webSearchRequests + price.webSearchPer1k).toBe(11)
  })
})
