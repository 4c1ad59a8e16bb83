/**
 * @module @aikit/adapters/next
 * AI Kit middleware on Next.js: `withAikit` around App Router route handlers, `aikitProxy` for
 * `proxy.ts` (Next 16) and Edge `middleware.ts` (Next 15). Web-standard APIs only (no `node:`).
 */

export type { MiddlewareAndOptions } from './args.js'
export { aikitProxy, type ProxyFunction } from './proxy.js'
export { canSetRequestHeader, setRequestHeader } from './request-headers.js'
export { type RouteHandler, withAikit } from './with-aikit.js'
