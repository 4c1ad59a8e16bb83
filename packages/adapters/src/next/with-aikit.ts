/**
 * @module next/with-aikit
 * Runs AI Kit middleware around an App Router route handler.
 */
import {
  compose,
  errorBody,
  InternalError,
  InvalidOptionsError,
  type Middleware,
} from '@aikit/core'
import { runChain } from '@aikit/core/adapter'
import { type MiddlewareAndOptions, parseArgs } from './args.js'
import { controlFlowResponse, isNextSignal } from './next-errors.js'
import { routeCookieLines } from './route-cookies.js'
import { WebContext } from './web-context.js'

/**
 * An App Router route handler: `export const POST = withAikit(handler, ...)`. `C` is Next's
 * second argument (`{ params: Promise<…> }`), passed through untouched.
 */
export type RouteHandler<R extends Request = Request, C = unknown> = (
  request: R,
  routeContext: C
) => Response | Promise<Response>

function isResponse(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers === 'object' &&
    'body' in value
  )
}

/** The last resort when the chain produced no Response at all (a middleware that did not await next()). */
export function internalErrorResponse(): Response {
  return new Response(JSON.stringify(errorBody(new InternalError())), {
    status: 500,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  })
}

/**
 * Resolves when Next may have the Response: once the chain settled, or, when it is still running
 * after the head was made (`headed`), one timer tick later. Code after `await next()` runs after
 * the head on every adapter: on node:http it never holds the response back, and here Next gets it
 * only when this resolves. A chain that ends in microtasks (nearly all) settles first, so Next
 * sees anything it threw (its own signals included) as before; one still waiting (on
 * `ctx.finished`, which resolves only once Next has read the body, or on I/O) no longer keeps the
 * Response from Next: awaiting `finished` after `next()` deadlocked the request.
 */
export function handOver(chain: Promise<void>, headed: Promise<void>): Promise<void> {
  return Promise.race([
    chain,
    headed.then(() => new Promise<void>((resolve) => setTimeout(resolve, 0))),
  ])
}

/**
 * Wraps a route handler so `middleware` runs around it, with the same signature as the handler.
 * The last argument may be the adapter options (`trustProxy`, `maxBodyBytes`, `maxJsonDepth`, `maxJsonKeys`,
 * `onError`, `asyncContext`), validated here: a bad one, or a key that is not one (a typo such as
 * `trustproxy`), throws `InvalidOptionsError` naming the field.
 *
 * - `await next()` resolves once the handler returned its Response (the body may still flow);
 *   `onHeaders` hooks run then, and the middleware headers are added to it (a header the route
 *   set itself wins). Code after `await next()` that still waits (on `ctx.finished`, or on I/O)
 *   does not hold the Response back past one timer tick (see `handOver`).
 * - A body a middleware read with `ctx.json()` is handed to the handler again, so
 *   `await req.json()` in the handler still works.
 * - `ctx.finished` resolves after Next has read the last chunk of the body, or with
 *   `aborted: true` when the body stream is cancelled or `request.signal` aborts (the client went
 *   away). A response without a body finishes when it is returned.
 * - `ctx.ip`: a Web Request has no socket address and `next start` only fills in
 *   `X-Forwarded-For` when the client sent none (it does not append the peer), so with the default
 *   `trustProxy: false` the IP is `undefined`. Behind your own proxies (or Vercel, which sets the
 *   header), give `trustProxy: 1` (the last hop is the client) or their CIDRs; the app must then
 *   be reachable only through them.
 * - A thrown error becomes the JSON error shape (500 `INTERNAL` unless it is an `AikitError`).
 *   Next's `redirect()` / `notFound()` / `forbidden()` / `unauthorized()` thrown by the handler
 *   become the Response Next would build (303/307/308 + Location, or the bare 401/403/404), which
 *   the middleware see like any other; Next's other internal signals are rethrown to Next.
 */
export function withAikit<R extends Request, C = unknown>(
  handler: RouteHandler<R, C>,
  ...middlewareAndOptions: MiddlewareAndOptions
): (request: R, routeContext: C) => Promise<Response> {
  if (typeof handler !== 'function') {
    throw new InvalidOptionsError(
      'handler',
      'must be a route handler (request, context) => Response'
    )
  }
  const { list, options, ipMode } = parseArgs(middlewareAndOptions)
  const middleware = compose(...list.map(answeringNextSignals))
  return async function aikitRoute(request: R, routeContext: C): Promise<Response> {
    const ctx = new WebContext(request, options, ipMode)
    ctx.watchClient()
    let signal: { error: unknown } | undefined
    // The head is made when the Response is set: the route's, or a middleware's short-circuit.
    const headed = new Promise<void>((resolve) => {
      ctx.onResponse = resolve
    })
    const chain = runChain(ctx, middleware, async () => {
      let response: unknown
      try {
        response = await handler(ctx.routeRequest() as R, routeContext)
      } catch (error) {
        response = controlFlowResponse(error)
        if (response === undefined) {
          if (isNextSignal(error)) signal = { error }
          throw error
        }
      }
      if (!isResponse(response)) throw new TypeError('The route handler did not return a Response')
      // A network error (`Response.error()`, status 0): Next would send a bare 500 the chain never
      // saw (no headers of the kit, `ctx.status` 0 in logs and metrics): the route failed.
      if (response.type === 'error' || response.status === 0) {
        throw new TypeError('The route handler returned Response.error()')
      }
      // Asked for (`ROUTE_COOKIES`, cacheResponse): the cookies Next adds after this returns.
      ctx.adoptResponse(response, ctx.routeCookiesWanted ? await routeCookieLines() : undefined)
    })
    await handOver(chain, headed)
    if (signal === undefined && isNextSignal(ctx.error)) signal = { error: ctx.error }
    if (signal !== undefined) {
      // Next's own signal (e.g. dynamic usage while prerendering): Next must see it as thrown.
      ctx.markFinished(false)
      throw signal.error
    }
    const response = ctx.response ?? internalErrorResponse()
    ctx.settleIfBodyless()
    return response
  }
}

/**
 * `m`, with Next's `redirect()` / `notFound()` / `forbidden()` thrown by it (an auth check) turned
 * into their response, as when the handler throws them: not a crash reported to `onError`, and the
 * outer middleware see the 307 / 404 rather than a 500.
 */
function answeringNextSignals(m: Middleware): Middleware {
  // A nested compose(...) is left as it is: compose splices and runs its chain itself.
  if (RUN_COMPOSED in m) return m
  const answered: Middleware = async function nextSignalsAnswered(ctx, next) {
    try {
      await m(ctx, next)
    } catch (error) {
      const response = ctx.headersSent ? undefined : controlFlowResponse(error)
      if (response === undefined) throw error
      ;(ctx as WebContext).adoptResponse(response)
    }
  }
  // The marks compose reads (`@aikit/core.runs-first`: securityHeaders() and cors() run before
  // the others) and any other symbol-keyed mark stay on the wrapper.
  for (const key of Object.getOwnPropertySymbols(m)) {
    Object.defineProperty(
      answered,
      key,
      Object.getOwnPropertyDescriptor(m, key) as PropertyDescriptor
    )
  }
  return answered
}

/** `compose`'s mark on the middleware it builds (a registered symbol, as in core). */
const RUN_COMPOSED = Symbol.for('@aikit/core.run-composed')
