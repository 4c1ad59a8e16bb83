/**
 * @module lifecycle
 * The hooks `compose` uses to flush a short-circuit response at the level where it happened, so
 * that an outer middleware's `await next()` resolves once the head is written, as the protocol says.
 */
import type { Context, FinishInfo } from './types.js'

/** Implemented by adapter contexts (see `BaseContext`); plain objects used in tests may lack it. */
export interface Lifecycle {
  /** Records a thrown error and turns it into the error response when the head is not sent yet. */
  fail(error: unknown): void
  /** Writes the head of a pending `respond(...)`; resolves when it is written. */
  commit(): Promise<void> | undefined
  /** Calls `fn` once the response finished, without a promise (see `onFinished`). */
  onFinish?(fn: (info: FinishInfo) => void): void
}

export const LIFECYCLE: unique symbol = Symbol.for('@aikit/core.lifecycle') as never

/** The lifecycle hooks of an adapter context, or undefined for a plain object. */
export function lifecycleOf(ctx: Context): Lifecycle | undefined {
  return (ctx as unknown as { [LIFECYCLE]?: Lifecycle })[LIFECYCLE]
}

/**
 * Calls `fn({ aborted })` once the response of `ctx` is complete or the client left: what
 * `ctx.finished.then(fn)` does, minus the promises (two per call). For per-request bookkeeping on
 * the hot path (metrics, request logs): on Node 20, where AsyncLocalStorage hooks every promise,
 * each one counts. `fn` runs in the tick the adapter learns the response ended (in a microtask when
 * it already has); it may not run inside the request's `currentContext()` scope, so take what it
 * needs from `ctx`. An error `fn` throws goes to the adapter's `onError`.
 */
export function onFinished(ctx: Context, fn: (info: FinishInfo) => void): void {
  const lc = lifecycleOf(ctx)
  if (lc?.onFinish !== undefined) {
    lc.onFinish(fn)
    return
  }
  void ctx.finished.then(fn)
}
