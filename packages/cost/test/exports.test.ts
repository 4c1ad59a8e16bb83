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
})
