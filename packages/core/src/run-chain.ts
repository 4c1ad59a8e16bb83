/**
 * @module run-chain
 * How an adapter runs one request through the middleware chain.
 */
import type { BaseContext } from './base-context.js'
import { composedRunner } from './compose.js'
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
 * `downstreamSettles: true` promises that `downstream`'s promise never rejects and only waits for
 * the head (the framework's route then owns the response): middleware that only pass `next()` on
 * then cost no promise of their own. Default false.
 *
 * The returned promise never rejects (an error escaping the settling itself goes to the adapter's
 * `onError`), so an adapter may drop it without a `catch`: one promise less per request.
 */
export function runChain<C extends BaseContext>(
  ctx: C,
  middleware: Middleware,
  downstream: (ctx: C) => Promise<void>,
  downstreamSettles = false
): Promise<void> {
  return ctx.asyncContext
    ? runWithContext(ctx, () => run(ctx, middleware, downstream, downstreamSettles))
    : run(ctx, middleware, downstream, downstreamSettles)
}

function run<C extends BaseContext>(
  ctx: C,
  middleware: Middleware,
  downstream: (ctx: C) => Promise<void>,
  downstreamSettles: boolean
): Promise<void> {
  let reached = false
  let handedOn: Promise<void> | undefined
  const next = (): Promise<void> => {
    reached = true
    // A middleware that responded and still called next(): the route must not run.
    if (ctx.hasPendingResponse) return Promise.resolve()
    const head = downstream(ctx)
    if (downstreamSettles) handedOn = head
    return head
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
    const composed = composedRunner(middleware)
    result = composed === undefined ? middleware(ctx, next) : composed(ctx, next, downstreamSettles)
  } catch (error) {
    return Promise.resolve(failed(error))
  }
  // Every level passed the route's own head promise on: it never rejects and nothing is left to
  // settle (next() was reached, and no response can be pending once the head is written).
  if (result === handedOn && result !== undefined) return result
  if (typeof result?.then !== 'function') return Promise.resolve(done())
  // `then` rather than an async function: fewer promises per request (see compose).
  return result.then(done, failed)
}
