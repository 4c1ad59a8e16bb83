/**
 * @module route
 * The route template of a request, read from the framework underneath the Context: Fastify's
 * `request.routeOptions.url`, Express's `req.baseUrl + req.route.path` (set once routing ran, so
 * read it late: after `next()` or when the response finished). Never the raw path: a raw path
 * (`/chat/123`) as a label or log field has unbounded cardinality. Express's `req.baseUrl` is the
 * text the mount path matched (`/users/42/posts` for `app.use('/users/:userId/posts', router)`),
 * so the mount path's template is rebuilt from the app's router tree (see express-mount.ts), its
 * literal segments lower-cased (see `literal`).
 */
import type { Context } from '@aikit/core'
import { expressMountTemplate } from './express-mount.js'
import { literal, placeParams } from './mount-template.js'

interface FastifyRequestLike {
  routeOptions?: { url?: unknown }
  [key: symbol]: unknown
}

interface FrameworkContext {
  /** FastifyContext: the Fastify request (the Next adapter's is a Web `Request`, no routeOptions). */
  request?: FastifyRequestLike
  /** NodeContext / ExpressContext: the Node request, which Express decorates. */
  req?: ExpressRequestLike
}

interface ExpressRequestLike {
  route?: { path?: unknown }
  baseUrl?: unknown
  params?: unknown
}

/**
 * The matched route template, or `undefined` when no route matched (or it is not known). Under
 * Express, the mount path part (`req.baseUrl`) has its params put back as `:name` and its literal
 * segments lower-cased, so every spelling a client may use matches one template.
 */
export function routeOf(ctx: Context): string | undefined {
  const c = ctx as unknown as FrameworkContext
  const request = c.request
  if (request !== undefined) {
    const fastifyUrl = fastifyRouteUrl(request)
    if (typeof fastifyUrl === 'string') return fastifyUrl
  }
  const req = c.req
  const route = req?.route
  const path = route?.path
  if (path === undefined || path === null) return undefined
  const template = typeof path === 'string' ? path : String(path)
  const base = req!.baseUrl
  // Routes on the app itself (no mount path): the common case, nothing more to do.
  if (typeof base !== 'string' || base === '') return template
  const searched = expressMountTemplate(req!, route!, base)
  if (searched !== null) return searched === undefined ? undefined : searched + template
  // Not a request Express routed (no app to search): the mount params merged into `req.params`.
  const params = req!.params
  if (typeof params !== 'object' || params === null) return literal(base) + template
  const mount = mountTemplate(base, params as Record<string, unknown>, route!)
  return mount === undefined ? undefined : mount + template
}

/**
 * The mount path template behind `req.baseUrl` from `req.params`, for a request no Express app can
 * be searched for: `{ userId: '42', postId: … }` with `baseUrl` `/users/42/posts` gives
 * `/users/:userId/posts`. The params that are not the route's own came from mount paths (merged
 * with `mergeParams`), each put back where its value is a whole segment (see `placeParams`).
 */
function mountTemplate(
  base: string,
  params: Record<string, unknown>,
  route: object
): string | undefined {
  let own: OwnParams | undefined
  let mountKeys: string[] | undefined
  for (const key in params) {
    own ??= ownParams(route)
    if (own.names.has(key) || (own.numbered && NUMBERED_KEY.test(key))) continue
    mountKeys ??= []
    mountKeys.push(key)
  }
  // Every param is the route's own: the mount path is literal (`/api/v1`).
  if (mountKeys === undefined) return literal(base)
  return placeParams(base, mountKeys, params)
}

/** The params a route's own path declares: by name, and whether numbered ones are its own. */
interface OwnParams {
  names: ReadonlySet<string>
  /** Unnamed groups (Express 4 `(\\d+)`, a bare `*`, a RegExp path) give params `0`, `1`…. */
  numbered: boolean
}

/** Per Route object: routes are few and live as long as the app. */
const ownParamsOf = new WeakMap<object, OwnParams>()

/** `:name`, `:"quoted name"` (path-to-regexp 8), `*name` (a named wildcard). */
const PARAM_NAME = /[:*](?:"((?:\\.|[^"\\])+)"|([$\p{ID_Continue}]+))/gu
/** A named capture group of a regular expression. */
const NAMED_GROUP = /\(\?<([^>=!][^>]*)>/g
const NUMBERED_KEY = /^\d+$/

function ownParams(route: object): OwnParams {
  let own = ownParamsOf.get(route)
  if (own === undefined) {
    const names = new Set<string>()
    let numbered = false
    const path = (route as { path?: unknown }).path
    for (const p of Array.isArray(path) ? path.flat(Number.POSITIVE_INFINITY) : [path]) {
      if (typeof p === 'string') {
        for (const m of p.matchAll(PARAM_NAME)) names.add(m[1] ?? m[2]!)
        if (p.includes('(') || /\*(?![$"\p{ID_Continue}])/u.test(p)) numbered = true
      } else if (p instanceof RegExp) {
        for (const m of p.source.matchAll(NAMED_GROUP)) names.add(m[1]!)
        numbered = true
      }
    }
    own = { names, numbered }
    ownParamsOf.set(route, own)
  }
  return own
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
