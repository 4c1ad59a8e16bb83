/**
 * @module static-headers
 * Header-only middleware that Node adapters may apply without a Context.
 *
 * A middleware whose whole per-request effect is "set this fixed list of response headers, then
 * call `next()`" (`securityHeaders()` with a static policy) can carry its list under the
 * registered symbol `STATIC_HEADERS`. The Fastify and Express adapters set such lists straight on
 * the framework's response in their own hook, before the rest of the chain, which is what the
 * middleware itself would do on those adapters (it writes to `reply.header` / `res.setHeader`
 * there too). When nothing else is left to run, they skip the Context entirely: the stack then
 * costs what a hand-written hook setting the same headers costs (bench/security/headers.mjs).
 * The middleware keeps working as a plain middleware everywhere else (Next, `compose`).
 */
import { runOrder } from './compose.js'
import type { Middleware } from './types.js'

/** A registered symbol, so a kit package can mark its middleware without importing core's copy. */
export const STATIC_HEADERS: unique symbol = Symbol.for('@aikit/core.static-headers') as never

/** The fixed header list of a header-only middleware. */
export interface StaticHeaderList {
  /** Header names as sent (`res.setHeader`). */
  readonly names: readonly string[]
  /** The same names in lower case (Fastify's `reply.header` stores them lower-cased). */
  readonly lowerNames: readonly string[]
  /** `values[i]` is the value of `names[i]`; each one already a valid header value. */
  readonly values: readonly string[]
  /** Whether `X-Powered-By` is removed from the Node response (Express sets it before any middleware). */
  readonly removePoweredBy: boolean
}

/**
 * Marks `middleware` as header-only with the given list. Only for middleware that do nothing per
 * request but set exactly these headers (in this order) and call `next()`.
 */
export function markStaticHeaders<M extends Middleware>(middleware: M, list: StaticHeaderList): M {
  Object.defineProperty(middleware, STATIC_HEADERS, { value: list })
  return middleware
}

/** What `splitStaticHeaders` returns. */
export interface StaticHeaderSplit {
  /** The headers of the leading header-only middleware, merged in run order; undefined if none. */
  readonly headers: StaticHeaderList | undefined
  /** The middleware left to run after those headers are set, in `compose`'s run order. */
  readonly rest: Middleware[]
}

/**
 * Splits a chain, in the order `compose` runs it, into the header-only middleware that run
 * before every other one and the rest. Only that leading run is taken: a header-only middleware
 * after a middleware with other effects keeps its place (it could overwrite a header set there).
 */
export function splitStaticHeaders(middleware: readonly Middleware[]): StaticHeaderSplit {
  const order = runOrder(middleware)
  let leading = 0
  while (leading < order.length && staticHeadersOf(order[leading]!) !== undefined) leading++
  if (leading === 0) return { headers: undefined, rest: order }
  const lists = order.slice(0, leading).map((fn) => staticHeadersOf(fn)!)
  const headers: StaticHeaderList =
    lists.length === 1
      ? lists[0]!
      : {
          names: lists.flatMap((l) => l.names),
          lowerNames: lists.flatMap((l) => l.lowerNames),
          values: lists.flatMap((l) => l.values),
          removePoweredBy: lists.some((l) => l.removePoweredBy),
        }
  return { headers, rest: order.slice(leading) }
}

function staticHeadersOf(fn: Middleware): StaticHeaderList | undefined {
  const list = (fn as { [STATIC_HEADERS]?: unknown })[STATIC_HEADERS]
  if (typeof list !== 'object' || list === null) return undefined
  const l = list as StaticHeaderList
  const ok =
    Array.isArray(l.names) &&
    Array.isArray(l.lowerNames) &&
    Array.isArray(l.values) &&
    l.names.length === l.values.length &&
    l.lowerNames.length === l.values.length
  return ok ? l : undefined
}
