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
 *
 * Middleware marked with `RUNS_FIRST` (e.g. `@aikit/security`'s `securityHeaders()`) run before
 * the others of the chain, in their given order, wherever they were placed: headers they set are
 * then on every response of the chain, a 413 or 403 from a middleware listed before them included.
 * Those marked `'early'` (`cors()`) run right after them, before the unmarked ones. The order is
 * fixed here, once; nothing is reordered per request.
 */
export function compose(...middleware: Middleware[]): Middleware {
  for (let i = 0; i < middleware.length; i++) {
    if (typeof middleware[i] !== 'function') {
      throw new InvalidOptionsError(`middleware[${i}]`, 'must be a function (ctx, next) => Promise')
    }
  }
  const chain = runOrder(middleware)
  const run = (ctx: Context, next: Next, nextSettles: boolean): Promise<void> =>
    dispatchChain(chain, ctx, next, nextSettles)
  const composed = function composed(ctx: Context, next: Next): Promise<void> {
    return run(ctx, next, false)
  }
  Object.defineProperty(composed, RUN_COMPOSED, { value: run })
  Object.defineProperty(composed, CHAIN, { value: chain })
  return composed
}

/**
 * Marks a middleware that `compose` runs before the unmarked ones of its chain (set it as a
 * non-enumerable property). `true`: middleware that only set response headers (or per-request
 * state) and call `next()`, so running them first changes nothing the others do; they run first.
 * `'early'`: middleware that set headers every response needs but may also answer or reject the
 * request themselves (CORS: a preflight is answered before authentication or rate limiting, and a
 * 429 or 413 still carries `Access-Control-Allow-Origin`, so the browser can read it); they run
 * after the `true` ones, so an early rejection still carries the security headers. Any other value
 * is ignored. A registered symbol, so a package can mark its middleware without importing it.
 */
export const RUNS_FIRST: unique symbol = Symbol.for('@aikit/core.runs-first') as never

/** The chain a `compose` runs, in run order (for flattening a nested marked middleware). */
const CHAIN: unique symbol = Symbol('@aikit/core.chain') as never

/** The run group of a middleware: 0 marked `true`, 1 marked `'early'`, 2 unmarked. */
function group(fn: Middleware): 0 | 1 | 2 {
  const mark = (fn as { [RUNS_FIRST]?: unknown })[RUNS_FIRST]
  return mark === true ? 0 : mark === 'early' ? 1 : 2
}

function marked(fn: Middleware): boolean {
  return group(fn) !== 2
}

/**
 * The run order: the middleware marked `true`, then those marked `'early'`, then the others, each
 * group in the given order. A composed middleware holding a marked one is spliced in (composition
 * is associative), so a marked middleware inside a nested `compose(...)` also moves forward in
 * the outer chain.
 */
export function runOrder(middleware: readonly Middleware[]): Middleware[] {
  const flat: Middleware[] = []
  for (const fn of middleware) {
    const inner = (fn as { [CHAIN]?: readonly Middleware[] })[CHAIN]
    if (inner?.some(marked) === true) flat.push(...inner)
    else flat.push(fn)
  }
  if (!flat.some(marked)) return flat
  return [0, 1, 2].flatMap((g) => flat.filter((fn) => group(fn) === g))
}

/**
 * A composed middleware's entry for `runChain`, which knows more about `next` than a caller of the
 * plain function: `nextSettles` says that the promise `next()` returns never rejects and leaves
 * nothing to commit (it only waits for the head), so the innermost level may hand it on as is.
 */
export const RUN_COMPOSED: unique symbol = Symbol.for('@aikit/core.run-composed') as never

/** The composed entry of `fn` when `compose` made it (see `RUN_COMPOSED`). */
export function composedRunner(
  fn: Middleware
): ((ctx: Context, next: Next, nextSettles: boolean) => Promise<void>) | undefined {
  return (fn as { [RUN_COMPOSED]?: (ctx: Context, next: Next, s: boolean) => Promise<void> })[
    RUN_COMPOSED
  ]
}

function dispatchChain(
  chain: readonly Middleware[],
  ctx: Context,
  next: Next,
  nextSettles: boolean
): Promise<void> {
  const length = chain.length
  const lc = lifecycleOf(ctx)
  // Created once per request, shared by every level (not one pair of closures per level).
  const commit = lc === undefined ? undefined : (): Promise<void> | undefined => lc.commit()
  const fail =
    lc === undefined ? undefined : (error: unknown): Promise<void> | undefined => settle(lc, error)
  let index = -1
  const dispatch = (i: number): Promise<void> => {
    if (i <= index) return Promise.reject(new Error('next() called multiple times'))
    index = i
    if (i === length) return next()
    const fn = chain[i]!
    if (lc === undefined) {
      try {
        return fn(ctx, () => dispatch(i + 1))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    // The promise this level's `next()` returned, when it is one that never rejects and needs no
    // commit: the next level's own settled promise, or (innermost) a `next` that settles.
    let forwarded: Promise<void> | undefined
    const nextStep = (): Promise<void> => {
      if (i + 1 <= index) return dispatch(i + 1) // the double-call rejection: never forwarded
      const step = dispatch(i + 1)
      if (i + 1 < length || nextSettles) forwarded = step
      return step
    }
    let result: Promise<void> | undefined
    try {
      result = fn(ctx, nextStep)
    } catch (error) {
      return Promise.resolve(settle(lc, error))
    }
    // A pass-through (`return next()`): the inner level already turned errors into the error
    // response and flushed a pending one, so the outer `await next()` resolves at the same point
    // without one more promise (each counts twice on Node 20, where AsyncLocalStorage hooks it).
    if (result === forwarded && result !== undefined) return result
    // A middleware that (against its type) returned no promise has finished.
    if (typeof result?.then !== 'function') return Promise.resolve(lc.commit())
    // One `then` per level (not an async wrapper).
    return result.then(commit, fail) as Promise<void>
  }
  return dispatch(0)
}

/** Turns a middleware's throw into the error response, then flushes a pending head. */
function settle(lc: Lifecycle, error: unknown): Promise<void> | undefined {
  lc.fail(error)
  return lc.commit()
}
