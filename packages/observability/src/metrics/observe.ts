/**
 * @module metrics/observe
 * Wires the kit's stateful components to the metrics without the packages depending on each
 * other: each component is typed by the events it emits (structurally), so `@aikit/ratelimit` or
 * a store is passed in as is.
 */
import { InvalidOptionsError } from '@aikit/core'
import { assertMetrics } from '../http-metrics.js'
import type { Metrics } from './create-metrics.js'

/** Throws `InvalidOptionsError` naming `field` unless `source` has an `on(event, listener)`. */
function assertSource(source: unknown, field: string, what: string): void {
  if (
    source === null ||
    (typeof source !== 'object' && typeof source !== 'function') ||
    typeof (source as { on?: unknown }).on !== 'function'
  ) {
    throw new InvalidOptionsError(field, `must be ${what} (an object with on(event, listener))`)
  }
}

/** Throws `InvalidOptionsError` naming `field` unless `name` is a non-empty string. */
function assertName(name: unknown, field = 'name'): void {
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionsError(field, 'must be a non-empty string')
  }
}

/** Anything emitting `degraded` / `recovered` (every `Store`, a rate limiter, a cache). */
export interface DegradableSource {
  on(event: 'degraded' | 'recovered', listener: (info: unknown) => void): () => void
}

/** A rate limiter as `@aikit/ratelimit`'s `createRateLimiter` returns it. */
export interface RateLimiterSource extends DegradableSource {
  on(event: 'degraded' | 'recovered', listener: (info: unknown) => void): () => void
  on(event: 'decision', listener: (result: { allowed: boolean }) => void): () => void
}

/**
 * Counts every decision of `limiter` in `aikit_ratelimit_decisions_total{limiter=name}` and mirrors
 * its store's state in `aikit_store_degraded{store=name}`. Returns a function that unsubscribes.
 */
export function observeRateLimiter(
  metrics: Metrics,
  limiter: RateLimiterSource,
  name = 'default'
): () => void {
  assertMetrics(metrics)
  assertSource(limiter, 'limiter', 'a rate limiter (createRateLimiter())')
  assertName(name)
  const offDecision = limiter.on('decision', (result) =>
    metrics.recordRateLimit({ allowed: result.allowed, limiter: name })
  )
  const offStore = observeStore(metrics, limiter, `ratelimit:${name}`)
  return () => {
    offDecision()
    offStore()
  }
}

/** Mirrors `degraded` / `recovered` events in `aikit_store_degraded{store=name}` (0 until one). */
export function observeStore(metrics: Metrics, source: DegradableSource, name: string): () => void {
  assertMetrics(metrics)
  assertSource(source, 'source', 'a store or component emitting degraded / recovered')
  assertName(name)
  metrics.setStoreDegraded(name, false)
  const offDown = source.on('degraded', () => metrics.setStoreDegraded(name, true))
  const offUp = source.on('recovered', () => metrics.setStoreDegraded(name, false))
  return () => {
    offDown()
    offUp()
  }
}

/** A budget as `@aikit/cost`'s `createBudget` returns it. */
export interface BudgetSource {
  on(event: 'settled', listener: (info: { chargedMicros: number }) => void): () => void
  on(event: 'rejected' | 'warning', listener: (info: unknown) => void): () => void
  on(event: 'unsettled', listener: (info: { chargeMicros: number }) => void): () => void
}

/**
 * Adds every settled charge of `budget` to `aikit_budget_spend_usd_total{budget=name}` and counts
 * its rejections and threshold warnings (`aikit_budget_rejections_total`,
 * `aikit_budget_warnings_total`), and the charges its store never took
 * (`aikit_budget_unsettled_usd_total`, from `'unsettled'`; a budget of an older `@aikit/cost`
 * without that event is observed without it). Returns a function that unsubscribes.
 */
export function observeBudget(
  metrics: Metrics,
  budget: BudgetSource,
  name = 'default'
): () => void {
  assertMetrics(metrics)
  assertSource(budget, 'budget', 'a budget (createBudget())')
  assertName(name)
  const offSettled = budget.on('settled', (info) =>
    metrics.recordBudget({ spentUsd: info.chargedMicros / 1_000_000, budget: name })
  )
  const offRejected = budget.on('rejected', () =>
    metrics.recordBudget({ rejected: true, budget: name })
  )
  const offWarning = budget.on('warning', () =>
    metrics.recordBudget({ warning: true, budget: name })
  )
  let offUnsettled: () => void = () => {}
  try {
    offUnsettled = budget.on('unsettled', (info) =>
      metrics.recordBudget({ unsettledUsd: info.chargeMicros / 1_000_000, budget: name })
    )
  } catch {
    // An older budget refuses the event name: nothing to count then.
  }
  return () => {
    offSettled()
    offRejected()
    offWarning()
    offUnsettled()
  }
}

/** A price table as `@aikit/cost`'s `createPriceTable` / `defaultPriceTable()` returns it. */
export interface PriceTableSource {
  on(event: 'unknown-model', listener: (info: { model: string }) => void): () => void
}

/** Counts calls for models missing from `table` in `aikit_llm_unknown_model_total{gen_ai_request_model}`. */
export function observePriceTable(metrics: Metrics, table: PriceTableSource): () => void {
  assertMetrics(metrics)
  assertSource(table, 'table', 'a price table (createPriceTable())')
  return table.on('unknown-model', (info) => metrics.recordUnknownModel({ model: info.model }))
}
