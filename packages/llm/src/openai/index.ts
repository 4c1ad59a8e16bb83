/**
 * @module @aikit/llm/openai
 * `wrapOpenAI(new OpenAI(), { budget, tokenLimit, cache, metrics, logger, guard })`: one line to
 * make an OpenAI client production-safe, with the SDK's own types intact.
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
export { aikit, type OpenAIRequestOptions, wrapOpenAI } from './wrap.js'
