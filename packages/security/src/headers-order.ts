/**
 * @module headers-order
 * Makes a header middleware's place in the chain irrelevant. `compose` in `@aikit/core` (which every
 * adapter uses: `toExpress`, `aikitFastify({ use })`, `toNodeHandler`, `withAikit`, `aikitProxy`)
 * runs middleware carrying the registered symbol `@aikit/core.runs-first` before the others of
 * the chain, once, when the chain is built. So `toExpress(bodyLimit(), csrf(), securityHeaders())`
 * runs `securityHeaders()` first, and the 413 or 403 it answers carries the security headers.
 * `cors()` is marked `'early'`: it runs right after the header-only middleware, before the rest.
 */
import type { Middleware } from '@aikit/core'

/** `RUNS_FIRST` of `@aikit/core`'s compose (a registered symbol: the same in every copy of core). */
const RUNS_FIRST = Symbol.for('@aikit/core.runs-first')

/**
 * Marks `middleware` to run before the unmarked ones of its chain. Only for middleware that set
 * response headers (or per-request state such as the CSP nonce) and then call `next()`.
 */
export function runsFirst(middleware: Middleware): Middleware {
  Object.defineProperty(middleware, RUNS_FIRST, { value: true })
  return middleware
}

/**
 * Marks `middleware` to run after the `runsFirst` ones and before the unmarked ones of its chain.
 * For middleware whose headers every response needs but that may also answer the request itself
 * (`cors()`: preflights, rejections), so their own answers still carry the `runsFirst` headers.
 */
export function runsEarly(middleware: Middleware): Middleware {
  Object.defineProperty(middleware, RUNS_FIRST, { value: 'early' })
  return middleware
}

/** `STATIC_HEADERS` of `@aikit/core/adapter` (a registered symbol, like `RUNS_FIRST`). */
const STATIC_HEADERS = Symbol.for('@aikit/core.static-headers')

/** `StaticHeaderList` of `@aikit/core/adapter`. */
interface StaticHeaderList {
  readonly names: readonly string[]
  readonly lowerNames: readonly string[]
  readonly values: readonly string[]
  readonly removePoweredBy: boolean
}

/**
 * Declares `middleware` header-only: its whole per-request effect is setting `list` and calling
 * `next()`. The Fastify and Express adapters then set the list in their own hook, with no Context
 * when nothing else runs (see `splitStaticHeaders` in `@aikit/core/adapter`).
 */
export function staticHeaders(middleware: Middleware, list: StaticHeaderList): Middleware {
  Object.defineProperty(middleware, STATIC_HEADERS, { value: list })
  return middleware
}
