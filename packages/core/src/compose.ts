/**
 * @module compose
 * Onion composition with a guard against calling `next()` twice.
 */
import { InvalidOptionsError } from './errors.js'
import { settleStep } from './lifecycle.js'
import type { Context, Middleware, Next } from './types.js'

/**
 * Composes middleware into one. Each runs around the ones after it; calling `next()` twice in one
 * middleware throws. A thrown error is turned into the JSON error response at the level where it
 * was thrown, so outer middleware see `ctx.status === 500` (and `ctx.error`) after `await next()`.
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
    let index = -1
    const dispatch = (i: number): Promise<void> => {
      if (i <= index) return Promise.reject(new Error('next() called multiple times'))
      index = i
      if (i === length) return next()
      const fn = chain[i]!
      let result: Promise<void>
      try {
        result = fn(ctx, () => dispatch(i + 1))
      } catch (error) {
        result = Promise.reject(error)
      }
      return settleStep(ctx, result)
    }
    return dispatch(0)
  }
}
