/**
 * @module @aikit/ratelimit
 * Rate limits for AI apps: GCRA, fixed and sliding windows, token bucket; several limits checked
 * and consumed atomically (all-or-nothing) on `memoryStore()` or `redisStore(client)`.
 * Edge-safe: imports only `@aikit/core`.
 */
export type { Algorithm, CheckResult, LimitResult } from './check-op.js'
export { type Duration, parseWindow } from './duration.js'
export {
  type CheckOptions,
  createRateLimiter,
  type LimitOptions,
  type RateLimiter,
  type RateLimiterOptions,
  type ResolvedLimit,
  type StoreErrorPolicy,
} from './limiter.js'
