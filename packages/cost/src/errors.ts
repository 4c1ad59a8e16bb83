/**
 * @module errors
 * The errors `@aikit/cost` raises: `AikitError`s with a stable `code` and HTTP status.
 */
import { AikitError } from '@aikit/core'

/**
 * The price table has no entry for a model (after alias resolution) and no fallback is configured.
 * Status 500: a missing price is a deployment problem, not the client's. Never priced as $0.
 */
export class UnknownModelError extends AikitError {
  /** The model name as it was asked for. */
  readonly model: string
  constructor(model: string) {
    super('UNKNOWN_MODEL', 500, `No price for model ${JSON.stringify(model)}`, {
      details: { model },
    })
    this.model = model
  }
}

/** Details of a `BudgetExceededError` (client-safe: never the subject itself). */
export interface BudgetExceededDetails {
  /** The limit that rejected: `'day'`, `'month'` or `'rolling:<ms>'`. */
  readonly period: string
  /** That limit, in micro-dollars. */
  readonly limitMicros: number
  /** What is left of it (spent and held subtracted), in micro-dollars; never negative. */
  readonly remainingMicros: number
  /** What the request asked to hold, in micro-dollars. */
  readonly requestedMicros: number
  /** When the limit next frees budget (epoch ms): the period end, or the oldest rolling spend ageing out. */
  readonly resetAt: number
}

/** 402: a hard budget cannot hold the request's worst-case cost. */
export class BudgetExceededError extends AikitError {
  declare readonly details: BudgetExceededDetails
  constructor(details: BudgetExceededDetails) {
    super('BUDGET_EXCEEDED', 402, 'Budget exceeded', { details })
  }
}
