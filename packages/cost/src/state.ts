/**
 * @module state
 * Types `ctx.state.budget` (set by the `budgetHeaders` middleware) by declaration merging.
 */
import type { BudgetStatus } from './budget.js'

declare module '@aikit/core' {
  interface AikitState {
    /** The subject's budget as `budgetHeaders` read it for this request (absent when skipped). */
    budget?: BudgetStatus
  }
}
