/**
 * @module next/proxy
 * Runs AI Kit middleware in `proxy.ts` (Next 16, Node runtime) or `middleware.ts` (Next 15, Edge).
 */
import { runChain } from '@aikit/core/adapter'
// `.js`: next has no exports map, so plain Node ESM needs the file name; bundlers accept both.
import { NextResponse } from 'next/server.js'
import { type MiddlewareAndOptions, parseArgs } from './args.js'
import { applyPendingHeaders } from './headers.js'
import { WebContext } from './web-context.js'
import { handOver, internalErrorResponse } from './with-aikit.js'

/** The function `proxy.ts` / `middleware.ts` exports. */
export type ProxyFunction = (request: Request, event?: unknown) => Promise<Response>

/**
 * Builds the default export of `proxy.ts` / `middleware.ts`:
 * `export default aikitProxy(securityHeaders(), rateLimit({...}))`.
 *
 * - Downstream (`await next()`) is `NextResponse.next()`: the request goes on to the page or route.
 *   Headers set with `ctx.setHeader` are put on that response (Next merges them into the route's
 *   response, where they win over the route's own of the same name, but for `Set-Cookie`, `Vary`
 *   and `WWW-Authenticate`); `setRequestHeader(ctx, name, value)` changes the request the app
 *   receives.
 * - `bodyLimit()` reads a body whose size it cannot check up front (chunked) here, through its
 *   limit: the route reads Next's own copy, which the kit cannot wrap.
 * - A proxy cannot know the route's final status: for a pass-through, `onHeaders` runs and
 *   `ctx.status` is 200. A short-circuit (`ctx.respond(429, …)`) has its own status.
 * - `ctx.finished` of a pass-through resolves (not aborted) when the proxy returns, since the body is
 *   the route's; a short-circuit body is tracked like under `withAikit`.
 * - `ctx.ip` follows the same rule as `withAikit` (undefined unless `trustProxy` is set).
 * - On Edge (`middleware.ts`), only edge-safe middleware can run.
 */
export function aikitProxy(...middlewareAndOptions: MiddlewareAndOptions): ProxyFunction {
  const { middleware, options, ipMode } = parseArgs(middlewareAndOptions)
  return async function aikitProxy(request: Request): Promise<Response> {
    const ctx = new WebContext(request, options, ipMode)
    ctx.watchClient()
    const headed = new Promise<void>((resolve) => {
      ctx.onResponse = resolve
    })
    const chain = runChain(ctx, middleware, async () => {
      // `bodyLimit()` here holds the route's body to its limit too (as under `withAikit`).
      const failure = await ctx.checkBodyInProxy()
      if (failure !== undefined) throw failure
      // The head first: an `onHeaders` hook may still set a request header, which the response
      // built next hands to the app (built before, it was silently left out).
      const extra = ctx.beforeHead(200)
      const headers = ctx.requestHeaders
      const response =
        headers === undefined ? NextResponse.next() : NextResponse.next({ request: { headers } })
      if (extra !== undefined) applyPendingHeaders(response.headers, extra)
      ctx.response = response
    })
    // A middleware awaiting `ctx.finished` after `next()` waits for this return (see handOver).
    await handOver(chain, headed)
    const response = ctx.response ?? internalErrorResponse()
    ctx.settleIfBodyless()
    return response
  }
}
