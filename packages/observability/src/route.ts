/**
 * @module route
 * The route template of a request, read from the framework underneath the Context: Fastify's
 * `request.routeOptions.url`, Express's `req.baseUrl + req.route.path` (set once routing ran, so
 * read it late: after `next()` or when the response finished). Never the raw path: a raw path
 * (`/chat/123`) as a label or log field has unbounded cardinality.
 */
import type { Context } from '@aikit/core'

interface FastifyRequestLike {
  routeOptions?: { url?: unknown }
  [key: symbol]: unknown
}

interface FrameworkContext {
  /** FastifyContext: the Fastify request (the Next adapter's is a Web `Request`, no routeOptions). */
  request?: FastifyRequestLike
  /** NodeContext / ExpressContext: the Node request, which Express decorates. */
  req?: { route?: { path?: unknown }; baseUrl?: unknown }
}

/** The matched route template, or `undefined` when no route matched (or it is not known). */
export function routeOf(ctx: Context): string | undefined {
  const c = ctx as unknown as FrameworkContext
  const request = c.request
  if (request !== undefined) {
    const fastifyUrl = fastifyRouteUrl(request)
    if (typeof fastifyUrl === 'string') return fastifyUrl
  }
  const req = c.req
  const path = req?.route?.path
  if (path === undefined || path === null) return undefined
  const base = typeof req?.baseUrl === 'string' ? req.baseUrl : ''
  return base + (typeof path === 'string' ? path : String(path))
}

/**
 * Fastify's `request.routeOptions` is a getter that builds a 12-field object (and asks the router
 * about version constraints) on every read: about 70 ns, paid by every metric and log line. The
 * `url` it returns is the route context's `config.url`, and the route context sits on the request
 * under Fastify's own `Symbol('fastify.context')`: found once per Fastify copy among the request's
 * symbols, then read directly. Without it (another Fastify major), `routeOptions.url` as before.
 */
let fastifyContextKey: symbol | undefined

interface RouteContextLike {
  config?: { url?: unknown }
}

function fastifyRouteUrl(request: FastifyRequestLike): unknown {
  const key = fastifyContextKey
  if (key !== undefined) {
    const context = request[key] as RouteContextLike | undefined
    if (typeof context === 'object' && context !== null) return context.config?.url
  }
  if (typeof request !== 'object' || request === null || !('routeOptions' in request)) {
    return undefined
  }
  for (const symbol of Object.getOwnPropertySymbols(request)) {
    if (symbol.description !== 'fastify.context') continue
    const context = request[symbol] as RouteContextLike | undefined
    if (typeof context === 'object' && context !== null) {
      fastifyContextKey = symbol
      return context.config?.url
    }
  }
  return request.routeOptions?.url
}

/** A `route` option: a function of the Context, or undefined for the framework's own. */
export type RouteResolver = (ctx: Context) => string | undefined
