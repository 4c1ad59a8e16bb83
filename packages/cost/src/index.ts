/**
 * @module @aikit/cost
 * LLM spend you can trust: a dated, sourced price table with exact integer pricing; usage from every
 * Anthropic and OpenAI response and stream shape; token estimates and message trimming; budgets
 * that reserve the worst case atomically (memory or Redis) so concurrent calls cannot overrun them.
 * Edge-safe: imports only `@aikit/core` and gpt-tokenizer.
 */
import './state.js'

export {
  type Budget,
  type BudgetEstimate,
  type BudgetEvents,
  type BudgetLimitsFn,
  type BudgetMode,
  type BudgetOptions,
  type BudgetStatus,
  createBudget,
  type LimitStatus,
  type Reservation,
  type ReservationHandle,
  type SettleOutcome,
  type SpendOptions,
  type SpendReport,
} from './budget.js'
export { type BudgetExceededDetails, BudgetExceededError, UnknownModelError } from './errors.js'
export { type ExtractedUsage, extractUsage, type UsageApi } from './extract.js'
export type { BudgetLimitOptions } from './limits.js'
export { type MeterStreamOptions, meterStream } from './meter-stream.js'
export { type BudgetHeadersOptions, budgetHeaders } from './middleware.js'
export { formatUsd } from './money.js'
export {
  filterOpenAIChunk,
  isUsageChunk,
  type PreparedStreamParams,
  prepareOpenAIStreamParams,
} from './openai-stream.js'
export type { Duration } from './period.js'
export {
  createPriceTable,
  defaultPriceTable,
  type PriceOverride,
  type PriceTable,
  type PriceTableOptions,
  priceOf,
  type ResolvedPrice,
  type UnknownModelEvent,
} from './price-table.js'
export {
  type LongContextRates,
  type ModelPrice,
  PRICES,
  type PriceMultipliers,
  type PriceRates,
} from './prices.js'
export {
  createStreamUsage,
  type StreamUsage,
  type StreamUsageOptions,
  type StreamUsageResult,
} from './stream-usage.js'
export {
  type AnthropicCountTokensClient,
  approximateTokens,
  type EstimateAsyncOptions,
  type EstimateOptions,
  estimateMessageTokens,
  estimateTextTokens,
  estimateTokens,
  estimateTokensAsync,
  MEDIA_TOKENS,
  type MessageLike,
  PDF_PAGE_TOKENS,
} from './tokens.js'
export { type TrimOptions, trimMessages } from './trim.js'
export {
  normalizeUsage,
  type ServiceTier,
  totalInputTokens,
  type Usage,
  type UsageStep,
} from './usage.js'
