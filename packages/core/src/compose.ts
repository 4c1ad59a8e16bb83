/**
 * @module compose
 * Onion composition with a guard against calling `next()` twice.
 */
import { InvalidOptionsError } from './errors.js'
import { type Lifecycle, lifecycleOf } from './lifecycle.js'
import type { Context, Middleware, Next } from './types.js'

/**
 * Composes middleware into one. Each runs around the ones after it; calling `next()` twice in one
 * middleware throws. A thrown error is turned into the JSON error response at the level where it
 * was thrown, so outer middleware see `ctx.status === 500` (and `ctx.error`) after `await next()`,
 * and a short-circuit `respond(...)` is written before the outer `await next()` resolves.
 */
export function compose(...middleware: Middleware[]): Middleware {
  for (let i = 0; i < middleware.length; i++) {
    if (typeof middleware[i] !== 'function') {
      throw new InvalidOptionsError(`middleware[${i}]`, 'must be a function (ctx, next) => Promise')
    }
  }
  const chain = middleware.slice()
  const length = chain.length
  return function composed(ctx: Context, next: Next): Promise<void> {
    const lc = lifecycleOf(ctx)
    // Created once per request, shared by every level (not one pair of closures per level).
    const commit = lc === undefined ? undefined : (): Promise<void> | undefined => lc.commit()
    const fail =
      lc === undefined
        ? undefined
        : (error: unknown): Promise<void> | undefined => settle(lc, error)
    let index = -1
    const dispatch = (i: number): Promise<void> => {
      if (i <= index) return Promise.reject(new Error('next() called multiple times'))
      index = i
      if (i === length) return next()
      const fn = chain[i]!
      const nextStep = (): Promise<void> => dispatch(i + 1)
      if (lc === undefined) {
        try {
          return fn(ctx, nextStep)
        } catch (error) {
          return Promise.reject(error)
        }
      }
      let result: Promise<void> | undefined
      try {
        result = fn(ctx, nextStep)
      } catch (error) {
        return Promise.resolve(settle(lc, error))
      }
      // A middleware that (against its type) returned no promise has finished.
      if (typeof result?.then !== 'function') return Promise.resolve(lc.commit())
      // One `then` per level (not an async wrapper): every promise counts twice on Node 20, where
      // AsyncLocalStorage hooks each one.
      return result.then(commit, fail) as Promise<void>
    }
    return dispatch(0)
  }
}

/** Turns a middleware's throw into the error response, then flushes a pending head. */
function settle(lc: Lifecycle, error: unknown): Promise<void> | undefined {
  lc.fail(error)
  return lc.commit()
}
