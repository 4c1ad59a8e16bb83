/**
 * @module state
 * Types `ctx.state.rateLimit` (set by the `rateLimit` middleware) by declaration merging.
 */
import type { CheckResult } from './check-op.js'

declare module '@aikit/core' {
  interface AikitState {
    /** The result of the `rateLimit` middleware's check for this request (absent when skipped). */
    rateLimit?: CheckResult
  }
}
