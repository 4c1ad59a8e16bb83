/**
 * @module @aikit/ratelimit
 * Rate limits for AI apps: GCRA, fixed and sliding windows, token bucket; several limits checked
 * and consumed atomically (all-or-nothing) on `memoryStore()` or `redisStore(client)`; the
 * `rateLimit` middleware with IETF draft `RateLimit` headers and 429 `RATE_LIMITED` answers.
 * Edge-safe: imports only `@aikit/core`.
 */
import './state.js'

export type { Algorithm } from './algorithms.js'
export type { CheckResult, LimitResult } from './check-op.js'
export { type Duration, parseWindow } from './duration.js'
export { RateLimitedError, UnidentifiedClientError } from './errors.js'
export { ipKey } from './ip-key.js'
export {
  type BlockCacheOptions,
  type CheckOptions,
  createRateLimiter,
  type LimitOptions,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimiterStats,
  type Reservation,
  type ResolvedLimit,
  type StoreErrorPolicy,
} from './limiter.js'
export {
  type RateLimitHeaders,
  type RateLimitMiddleware,
  type RateLimitMiddlewareOptions,
  type RateLimitMiddlewareStats,
  type RateLimitOptions,
  rateLimit,
  type UnkeyedPolicy,
} from './middleware.js'
