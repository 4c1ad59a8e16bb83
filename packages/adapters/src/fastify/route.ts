/**
 * @module fastify/route
 * `aikitRoute(...middleware)`: middleware for one route, given in that route's options as its
 * `onRequest` hook, without an encapsulated plugin per route.
 *
 * ```ts
 * await app.register(aikitFastify, { use: [requestLogger(logger), auth] })
 * app.post('/chat', { onRequest: aikitRoute(rateLimit({ ... })) }, handler)
 * ```
 *
 * The route's middleware run as a nested registration's do (see nesting.ts): on the request's one
 * Context, after the chains of the `aikitFastify` registrations whose scope holds the route, as
 * if appended to them. The kit's `onRoute` hook (every registration has it, scopes inherit it)
 * finds the hook in the route's options when the route is declared and replaces it with one that
 * runs the middleware under the route's innermost registration; it also tells that registration
 * (and the ones enclosing it) that a chain joins theirs, so their `await next()` resumes after
 * this one's, onion order kept. A hook no registration replaced (the route is declared outside
 * every `aikitFastify` scope, or before the plugin was registered: Fastify runs `onRoute` hooks
 * only for the routes declared after them) fails the request with a 500 saying so, rather than
 * run the middleware without the plugin's body hand-over, error handling and Context.
 */
import { AikitError, compose, InvalidOptionsError, type Middleware } from '@aikit/core'
import { runChain } from '@aikit/core/adapter'
import type {
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
  RouteOptions,
} from 'fastify'
import type { FastifyContext } from './index.js'
import { fastifyDownstream, joinableDownstream, joinChain, type Registration } from './nesting.js'

/**
 * What `aikitRoute` returns: an `onRequest` hook for a route's options. Its generics are left open
 * (`any`) so it fits any route's `onRequest`, whatever that route's schema, config or type
 * provider: the hook reads only `request.aikit`.
 */
// biome-ignore lint/suspicious/noExplicitAny: assignable to every route's onRequest option
export type AikitRouteHook = onRequestHookHandler<any, any, any, any, any, any, any, any>

/**
 * Where a route hook keeps its composed middleware. `Symbol.for`: the `onRoute` hook of another
 * copy of this package in the app still recognises it.
 */
const ROUTE_MIDDLEWARE: unique symbol = Symbol.for('@aikit/adapters.fastify.route') as never

type RouteHookFn = ((...args: never[]) => unknown) & { [ROUTE_MIDDLEWARE]?: Middleware }

/** The route hooks that `aikitRoute` may not be given as (see `bindRouteHooks`). */
const OTHER_HOOKS = [
  'preParsing',
  'preValidation',
  'preHandler',
  'preSerialization',
  'onSend',
  'onResponse',
  'onError',
  'onTimeout',
  'onRequestAbort',
] as const

/**
 * Middleware for one route: `app.post('/chat', { onRequest: aikitRoute(rateLimit(…)) }, handler)`.
 * They run after the chains of the `aikitFastify` registrations that cover the route, on the
 * request's Context: what those set (`state.subject`, `state.requestId`) is seen here and by the
 * handler; a `respond()` (a 429) or a thrown error here is the request's one response (the JSON
 * error shape; non-kit errors go to the enclosing registration's `onError`); `onHeaders` and
 * `finished` run once; the enclosing chains' `await next()` resumes after this one's. Adapter
 * options are the enclosing registration's (this takes none).
 *
 * Give it as the route's `onRequest` hook, alone or in an array with the app's own hooks (they run
 * in array order, after the instance's hooks). Anywhere else (`preHandler`, …) the route's
 * declaration throws `InvalidOptionsError` naming that hook: by then Fastify has parsed the body a
 * middleware may need to read. The route must be declared inside the scope of an `aikitFastify`
 * registered before it; otherwise every request of the route fails with a 500
 * `AIKIT_ROUTE_UNCOVERED`. A middleware that is not a function throws `InvalidOptionsError` here,
 * naming it (`middleware[1]`).
 */
export function aikitRoute(...middleware: Middleware[]): AikitRouteHook {
  // compose validates every entry (InvalidOptionsError naming `middleware[i]`).
  const composed = compose(...middleware)
  const hook = function aikitRoute(
    _request: FastifyRequest,
    _reply: FastifyReply,
    done: HookHandlerDoneFunction
  ): void {
    done(uncovered())
  } as RouteHookFn
  hook[ROUTE_MIDDLEWARE] = composed
  return hook as unknown as AikitRouteHook
}

function uncovered(): AikitError {
  return new AikitError(
    'AIKIT_ROUTE_UNCOVERED',
    500,
    'aikitRoute() runs on a route that no aikitFastify covers: register aikitFastify ' +
      "(`await app.register(aikitFastify, { use: [...] })`) on the route's scope or an enclosing " +
      'one, before declaring the route.'
  )
}

function routeMiddlewareOf(hook: unknown): Middleware | undefined {
  return typeof hook === 'function' ? (hook as RouteHookFn)[ROUTE_MIDDLEWARE] : undefined
}

function asList(hooks: unknown): unknown[] {
  if (hooks === undefined || hooks === null) return []
  return Array.isArray(hooks) ? hooks : [hooks]
}

/**
 * Called from the kit's `onRoute` hook when `route` is declared: refuses an `aikitRoute` hook given
 * as another hook than `onRequest`, and replaces each one in `onRequest` with a hook that runs its
 * middleware under `registration` (the route's innermost one). A registration enclosing another
 * one's scope sees the route first; the innermost one replaces last, so that one holds.
 */
export function bindRouteHooks(route: RouteOptions, registration: Registration): void {
  for (const name of OTHER_HOOKS) {
    if (asList(route[name]).some((h) => routeMiddlewareOf(h) !== undefined)) {
      throw new InvalidOptionsError(
        name,
        "holds an aikitRoute() hook: give it as the route's onRequest hook " +
          `(\`{ onRequest: aikitRoute(...) }\`) (route ${String(route.method)} ${route.url})`
      )
    }
  }
  const list = asList(route.onRequest)
  let last = -1
  for (let i = 0; i < list.length; i++) if (routeMiddlewareOf(list[i]) !== undefined) last = i
  if (last === -1) return
  registration.nest()
  route.onRequest = list.map((hook, i) => {
    const middleware = routeMiddlewareOf(hook)
    if (middleware === undefined) return hook
    // A route chain another one of the route's hooks joins waits for it, as a registration does.
    return boundHook(middleware, registration, i < last ? joinableDownstream : fastifyDownstream)
  }) as NonNullable<RouteOptions['onRequest']>
}

/** The hook that runs `middleware` for a route under `registration`. */
function boundHook(
  middleware: Middleware,
  registration: Registration,
  downstream: (ctx: FastifyContext) => Promise<void>
): RouteHookFn {
  const hook = function aikitRoute(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction
  ): void {
    const ctx = request.aikit as FastifyContext | null | undefined
    if (ctx === null || ctx === undefined) {
      // The registrations before were header-only and built none: this chain builds it.
      const own = registration.context(request, reply)
      own.proceed = done
      // runChain never rejects; the downstream only waits for the head or a joining chain.
      void runChain(own, middleware, downstream, true)
      return
    }
    joinChain(ctx, middleware, done, downstream)
  } as RouteHookFn
  hook[ROUTE_MIDDLEWARE] = middleware
  return hook
}
