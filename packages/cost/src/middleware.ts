/**
 * @module middleware
 * `budgetHeaders`: tells clients where their budget stands (`X-Budget-*` headers) and, for a hard
 * budget, turns away a subject with nothing left with 402 `BUDGET_EXCEEDED` before any work is done.
 * The per-call reservation (the real guard) still happens around the LLM call itself.
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { Budget } from './budget.js'
import { BudgetExceededError } from './errors.js'
import { formatUsd } from './money.js'
import './state.js'

/** Options of `budgetHeaders`. */
export interface BudgetHeadersOptions {
  /** The budget to read. Required. */
  budget: Budget
  /**
   * The subject of a request; `undefined` or `''` passes the request through untouched.
   * Default: `ctx.state.subject`.
   */
  subjectBy?: (ctx: Context) => string | undefined | Promise<string | undefined>
  /**
   * Answer 402 when the tightest limit has nothing left. Default: `true` for a `'hard'` budget,
   * `false` for a `'soft'` one.
   */
  reject?: boolean
}

/** The keys of `BudgetHeadersOptions`: any other key is refused. */
const BUDGET_HEADERS_OPTION_KEYS = [
  'budget',
  'subjectBy',
  'reject',
] as const satisfies readonly (keyof BudgetHeadersOptions)[]

/**
 * Creates the middleware. Per request with a subject it reads the budget (one store op), stores it on
 * `ctx.state.budget` and sets, for the tightest limit: `X-Budget-Limit` and `X-Budget-Remaining`
 * (USD with 6 decimals), `X-Budget-Reset` (epoch seconds, rounded up) and `X-Budget-Period`
 * (`day`, `month`, `rolling:<ms>`). A subject without limits gets no headers.
 * @throws InvalidOptionsError naming a bad or unknown option (`budget`, `subjectBy`, `reject`).
 */
export function budgetHeaders(options: BudgetHeadersOptions): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, BUDGET_HEADERS_OPTION_KEYS)
  const { budget, subjectBy } = options
  if (budget === null || typeof budget !== 'object' || typeof budget.status !== 'function') {
    throw new InvalidOptionsError('budget', 'must be a Budget (createBudget(...))')
  }
  if (subjectBy !== undefined && typeof subjectBy !== 'function') {
    throw new InvalidOptionsError('subjectBy', 'must be a function (ctx) => string | undefined')
  }
  const reject = options.reject ?? budget.mode === 'hard'
  if (typeof reject !== 'boolean') throw new InvalidOptionsError('reject', 'must be a boolean')
  const resolve = subjectBy ?? ((ctx: Context) => ctx.state.subject)

  return async function budgetHeadersMiddleware(ctx, next) {
    const subject = await resolve(ctx)
    if (subject === undefined || subject === '') return next()
    const status = await budget.status(subject)
    ctx.state.budget = status
    const t = status.tightest
    if (!t) return next()
    ctx.setHeader('X-Budget-Limit', formatUsd(t.limitMicros))
    ctx.setHeader('X-Budget-Remaining', formatUsd(t.remainingMicros))
    ctx.setHeader('X-Budget-Reset', String(Math.ceil(t.resetAt / 1000)))
    ctx.setHeader('X-Budget-Period', t.period)
    if (reject && t.remainingMicros <= 0) {
      const error = new BudgetExceededError({
        period: t.period,
        limitMicros: t.limitMicros,
        remainingMicros: 0,
        requestedMicros: 0,
        resetAt: t.resetAt,
      })
      ctx.respond(error.status, error.toJSON())
      return
    }
    return next()
  }
}
