/**
 * @module request-target
 * The authority of an absolute-form request target (RFC 9112 §3.2.2: `GET http://host/path`), on
 * the contexts of adapters that read the raw target (the Node ones); `undefined` for the usual
 * origin-form (`GET /path`). Clients send that form to proxies, not to origin servers; the route
 * sees the whole target (`req.url`, Express's `req.originalUrl`) while `ctx.path` holds its path,
 * and the Host header may name another host: a key built on Host and path (a shared response
 * cache's) would describe another request than the one the route answered.
 */
export const TARGET_AUTHORITY: unique symbol = Symbol.for('@aikit/core.target-authority') as never
