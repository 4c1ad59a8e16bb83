/**
 * @module run-chain
 * How an adapter runs one request through the middleware chain.
 */
import type { BaseContext } from './base-context.js'
import { runWithContext } from './current-context.js'
import { AikitError } from './errors.js'
import type { Middleware } from './types.js'

/**
 * Runs `middleware` for `ctx` (inside the AsyncLocalStorage scope unless the adapter's
 * `asyncContext` option is false). `downstream(ctx)` hands the request to the framework's route
 * (or handler) and resolves once the head is written; it gets the context as its argument so an
 * adapter can pass one function for every request instead of a closure per request. When the chain
 * ends without reaching `downstream`, a pending `respond(...)` is written; a chain that neither
 * responds nor calls `next()` is a bug and answers 500.
 *
 * The returned promise never rejects (an error escaping the settling itself goes to the adapter's
 * `onError`), so an adapter may drop it without a `catch`: one promise less per request.
 */
export function runChain<C extends BaseContext>(
  ctx: C,
  middleware: Middleware,
  downstream: (ctx: C) => Promise<void>
): Promise<void> {
  return ctx.asyncContext
    ? runWithContext(ctx, () => run(ctx, middleware, downstream))
    : run(ctx, middleware, downstream)
}

function run<C extends BaseContext>(
  ctx: C,
  middleware: Middleware,
  downstream: (ctx: C) => Promise<void>
): Promise<void> {
  let reached = false
  const next = (): Promise<void> => {
    reached = true
    // A middleware that responded and still called next(): the route must not run.
    if (ctx.hasPendingResponse) return Promise.resolve()
    return downstream(ctx)
  }
  const done = (): Promise<void> | undefined => {
    try {
      if (!reached && !ctx.hasPendingResponse && !ctx.headersSent) {
        ctx.fail(
          new AikitError('NO_RESPONSE', 500, 'A middleware ended without respond() or next()')
        )
      }
      return ctx.commit()
    } catch (error) {
      ctx.reportError(error)
      return undefined
    }
  }
  const failed = (error: unknown): Promise<void> | undefined => {
    try {
      ctx.fail(error)
      return ctx.commit()
    } catch (secondary) {
      ctx.reportError(secondary)
      return undefined
    }
  }
  let result: Promise<void> | undefined
  try {
    result = middleware(ctx, next)
  } catch (error) {
    return Promise.resolve(failed(error))
  }
  if (typeof result?.then !== 'function') return Promise.resolve(done())
  // `then` rather than an async function: fewer promises per request (see compose).
  return result.then(done, failed)
}
