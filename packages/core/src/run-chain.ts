/**
 * @module run-chain
 * How an adapter runs one request through the middleware chain.
 */
import type { BaseContext } from './base-context.js'
import { runWithContext } from './current-context.js'
import { AikitError } from './errors.js'
import type { Middleware } from './types.js'

/**
 * Runs `middleware` for `ctx` inside the AsyncLocalStorage scope. `downstream` hands the request
 * to the framework's route (or handler) and resolves once the head is written. When the chain
 * ends without reaching `downstream`, a pending `respond(...)` is written; a chain that neither
 * responds nor calls `next()` is a bug and answers 500.
 */
export function runChain(
  ctx: BaseContext,
  middleware: Middleware,
  downstream: () => Promise<void>
): Promise<void> {
  return runWithContext(ctx, () => {
    let reached = false
    const next = (): Promise<void> => {
      reached = true
      // A middleware that responded and still called next(): the route must not run.
      if (ctx.hasPendingResponse) return Promise.resolve()
      return downstream()
    }
    let chain: Promise<void>
    try {
      chain = middleware(ctx, next)
    } catch (error) {
      chain = Promise.reject(error)
    }
    return chain.then(
      () => {
        if (!reached && !ctx.hasPendingResponse && !ctx.headersSent) {
          ctx.fail(
            new AikitError('NO_RESPONSE', 500, 'A middleware ended without respond() or next()')
          )
        }
        return ctx.commit()
      },
      (error: unknown) => {
        ctx.fail(error)
        return ctx.commit()
      }
    )
  })
}
