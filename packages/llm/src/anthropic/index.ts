/**
 * @module @aikit/llm/anthropic
 * `wrapAnthropic(new Anthropic(), { budget, tokenLimit, cache, metrics, logger, guard })`: one
 * line to make an Anthropic client production-safe, with the SDK's own types intact.
 */
export {
  OutputBlockedError,
  PromptBlockedError,
  SubjectRequiredError,
  TokenRateLimitedError,
  UnmeteredMethodError,
} from '../shared/errors.js'
export type {
  CacheMode,
  CallOverride,
  GuardInputVerdict,
  GuardMessage,
  GuardOutputVerdict,
  LlmCache,
  LlmCacheKeyFn,
  LlmCallMetric,
  LlmGuard,
  LlmLogger,
  LlmMetrics,
  LlmMetricsUsage,
  LlmTokenLimiter,
  LlmTokenReservation,
  TokenLimitKeyFn,
  TokenLimitKeyInfo,
  TokenLimitOptions,
  WrapOptions,
} from '../shared/types.js'
export { type AnthropicRequestOptions, aikit, wrapAnthropic } from './wrap.js'
