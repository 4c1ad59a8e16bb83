/**
 * @module route
 * The route template of a request, read from the framework underneath the Context: Fastify's
 * `request.routeOptions.url`, Express's `req.baseUrl + req.route.path` (set once routing ran, so
 * read it late: after `next()` or when the response finished). Never the raw path: a raw path
 * (`/chat/123`) as a label or log field has unbounded cardinality.
 */
import type { Context } from '@aikit/core'

interface FrameworkContext {
  /** FastifyContext: the Fastify request (the Next adapter's is a Web `Request`, no routeOptions). */
  request?: { routeOptions?: { url?: unknown } }
  /** NodeContext / ExpressContext: the Node request, which Express decorates. */
  req?: { route?: { path?: unknown }; baseUrl?: unknown }
}

/** The matched route template, or `undefined` when no route matched (or it is not known). */
export function routeOf(ctx: Context): string | undefined {
  const c = ctx as unknown as FrameworkContext
  const fastifyUrl = c.request?.routeOptions?.url
  if (typeof fastifyUrl === 'string') return fastifyUrl
  const req = c.req
  const path = req?.route?.path
  if (path === undefined || path === null) return undefined
  const base = typeof req?.baseUrl === 'string' ? req.baseUrl : ''
  return base + (typeof path === 'string' ? path : String(path))
}

/** A `route` option: a function of the Context, or undefined for the framework's own. */
export type RouteResolver = (ctx: Context) => string | undefined
