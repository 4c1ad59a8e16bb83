/**
 * @module next/request-headers
 * Passing request headers on to the route, e.g. a CSP nonce: Next reads the nonce for its own
 * scripts from the request's `Content-Security-Policy` header, and pages read `x-nonce`.
 */
import { AikitError, type Context } from '@aikit/core'
import { SET_REQUEST_HEADER } from './web-context.js'

type WithSetter = { [SET_REQUEST_HEADER]?: (name: string, value: string) => void }

/**
 * Sets a header on the request that reaches the route. In `aikitProxy` it is applied with
 * `NextResponse.next({ request: { headers } })`, so pages, route handlers and Next itself see it;
 * under `withAikit` the wrapped handler receives a Request carrying it. Call it before
 * `await next()`. Throws under adapters that cannot forward request headers.
 */
export function setRequestHeader(ctx: Context, name: string, value: string): void {
  const set = (ctx as WithSetter)[SET_REQUEST_HEADER]
  if (typeof set !== 'function') {
    throw new AikitError(
      'UNSUPPORTED',
      500,
      'setRequestHeader works only under @aikit/adapters/next (withAikit or aikitProxy)'
    )
  }
  set.call(ctx, name, value)
}

/** True when `setRequestHeader` can be used with this context. */
export function canSetRequestHeader(ctx: Context): boolean {
  return typeof (ctx as WithSetter)[SET_REQUEST_HEADER] === 'function'
}
