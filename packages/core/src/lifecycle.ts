/**
 * @module lifecycle
 * The hooks `compose` uses to flush a short-circuit response at the level where it happened, so
 * that an outer middleware's `await next()` resolves once the head is written, as the protocol says.
 */
import type { Context } from './types.js'

/** Implemented by adapter contexts (see `BaseContext`); plain objects used in tests may lack it. */
export interface Lifecycle {
  /** Records a thrown error and turns it into the error response when the head is not sent yet. */
  fail(error: unknown): void
  /** Writes the head of a pending `respond(...)`; resolves when it is written. */
  commit(): Promise<void> | undefined
}

export const LIFECYCLE: unique symbol = Symbol.for('@aikit/core.lifecycle') as never

/** The lifecycle hooks of an adapter context, or undefined for a plain object. */
export function lifecycleOf(ctx: Context): Lifecycle | undefined {
  return (ctx as unknown as { [LIFECYCLE]?: Lifecycle })[LIFECYCLE]
}
