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
      return step(ctx, lc, fn, nextStep)
    }
    return dispatch(0)
  }
}

/** Runs one middleware; converts its throw into the error response, then flushes a pending head. */
async function step(ctx: Context, lc: Lifecycle, fn: Middleware, next: Next): Promise<void> {
  try {
    await fn(ctx, next)
  } catch (error) {
    lc.fail(error)
  }
  const committing = lc.commit()
  if (committing !== undefined) await committing
}
