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
 * `asyncContext` option is false). `downstream` hands the request to the framework's route (or
 * handler) and resolves once the head is written. When the chain ends without reaching
 * `downstream`, a pending `respond(...)` is written; a chain that neither responds nor calls
 * `next()` is a bug and answers 500. The returned promise never rejects.
 */
export function runChain(
  ctx: BaseContext,
  middleware: Middleware,
  downstream: () => Promise<void>
): Promise<void> {
  return ctx.asyncContext
    ? runWithContext(ctx, () => run(ctx, middleware, downstream))
    : run(ctx, middleware, downstream)
}

function run(
  ctx: BaseContext,
  middleware: Middleware,
  downstream: () => Promise<void>
): Promise<void> {
  let reached = false
  const next = (): Promise<void> => {
    reached = true
    // A middleware that responded and still called next(): the route must not run.
    if (ctx.hasPendingResponse) return Promise.resolve()
    return downstream()
  }
  const done = (): Promise<void> | undefined => {
    if (!reached && !ctx.hasPendingResponse && !ctx.headersSent) {
      ctx.fail(new AikitError('NO_RESPONSE', 500, 'A middleware ended without respond() or next()'))
    }
    return ctx.commit()
  }
  const failed = (error: unknown): Promise<void> | undefined => {
    ctx.fail(error)
    return ctx.commit()
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
