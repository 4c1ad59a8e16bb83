/**
 * @module fastify/nesting
 * How an `aikitFastify` registered inside an encapsulated plugin shares the Context of the
 * registration enclosing it: Fastify's own model for scoping (a plugin's hooks apply to its
 * scope's routes only), with one Context per request.
 *
 * The first registration to run for a request (the outermost one whose hooks apply to the route)
 * builds the Context; a nested registration's `onRequest` hook, which Fastify runs after the
 * enclosing one's (its `done()` is called from the enclosing chain's innermost `next()`), runs its
 * chain on that same Context. The two chains then behave as one chain would: the enclosing
 * chain's innermost `next()` resolves once the nested chain has finished (which is at the head for
 * middleware that pass `next()` on), so post-`next()` code runs inner first, as in an onion.
 */
import { AikitError, InvalidOptionsError, type Middleware } from '@aikit/core'
import {
  type AdapterOptions,
  type ResolvedAdapterOptions,
  runChain,
  type StaticHeaderList,
} from '@aikit/core/adapter'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyContext } from './index.js'

/** What a scope's routes run under: the nearest enclosing `aikitFastify` registration. */
export interface Registration {
  /** The options every Context of this scope is built with: the outermost registration's. */
  readonly options: ResolvedAdapterOptions
  /**
   * The header-only lists of this registration and the ones enclosing it: a nested registration
   * that builds the Context (the enclosing ones were header-only and built none) notes them, so
   * that a middleware's `ctx.setHeader` of one of those names still replaces it.
   */
  readonly headerLists: readonly StaticHeaderList[]
  /**
   * Called (at registration, before the app is ready) when a registration nests in this one's
   * scope, or a route of its scope runs `aikitRoute` middleware (see route.ts): this one's chain,
   * and the enclosing ones', then wait for a nested chain that joins.
   */
  nest(): void
  /**
   * Builds the request's Context when the registrations before found it had none to build (they
   * were header-only): with this registration's options, its header lists noted, set as
   * `request.aikit`.
   */
  context(request: FastifyRequest, reply: FastifyReply): FastifyContext
}

/**
 * Where a registration is kept on the Fastify instance it decorated. Child instances inherit it
 * (Fastify builds them with `Object.create(parent)`), so a nested registration finds the one
 * enclosing it. `Symbol.for`: two copies of this package in one app find each other.
 */
const REGISTRATION: unique symbol = Symbol.for('@aikit/adapters.fastify.registration') as never

type WithRegistration = FastifyInstance & { [REGISTRATION]?: Registration }

/** The registration enclosing `fastify`'s scope (or made on it before), if any. */
export function registrationOf(fastify: FastifyInstance): Registration | undefined {
  return (fastify as WithRegistration)[REGISTRATION]
}

/** Makes `registration` the one that `fastify`'s scope, and scopes created in it later, run under. */
export function setRegistration(fastify: FastifyInstance, registration: Registration): void {
  Object.defineProperty(fastify, REGISTRATION, {
    value: registration,
    configurable: true,
    writable: true,
    enumerable: false,
  })
}

/** The instances `aikitFastify` was registered on, by app (its server, which every scope shares). */
const registeredOn = new WeakMap<object, FastifyInstance[]>()

/**
 * Refuses a registration made after one inside a scope created in this one: Fastify runs a hook
 * added to a scope after those its child scopes added already, so on that child's routes this
 * chain would run after the child's (an app-wide auth after a scoped rate limit keyed by its
 * subject), and each would build its own Context. Registered first, it encloses the child's.
 */
export function assertNoEarlierNested(fastify: FastifyInstance): void {
  const app = fastify.server as object
  let list = registeredOn.get(app)
  if (list === undefined) {
    list = []
    registeredOn.set(app, list)
  }
  for (const other of list) {
    if (other !== fastify && Object.prototype.isPrototypeOf.call(fastify, other)) {
      throw new AikitError(
        'REGISTRATION_ORDER',
        500,
        'aikitFastify is registered here after a plugin of this scope registered its own: Fastify ' +
          "would run this one's onRequest hook after that one's on the plugin's routes, with a " +
          'Context of its own. Register this aikitFastify first (`await app.register(aikitFastify, ' +
          '...)` before the plugins that register one in their scope).'
      )
    }
  }
  list.push(fastify)
}

/** The `AdapterOptions` keys (a record: the compiler flags one missing). */
const ADAPTER_KEYS = Object.keys({
  trustProxy: true,
  maxBodyBytes: true,
  maxJsonDepth: true,
  maxJsonKeys: true,
  onError: true,
  asyncContext: true,
} satisfies Record<keyof AdapterOptions, true>) as (keyof AdapterOptions)[]

/**
 * A nested registration runs on the Context the enclosing one builds, whose options hold for the
 * whole request: by the time the nested chain runs the IP may be resolved (a rate-limit key,
 * logged), the body read under those limits, errors reported to that `onError`. Such an option
 * given again here would not apply, so it is refused rather than dropped without a word (a nested
 * `trustProxy: 1` ignored would leave every client the proxy's IP: one rate-limit bucket).
 */
export function refuseNestedAdapterOptions(opts: AdapterOptions): void {
  for (const key of ADAPTER_KEYS) {
    if (opts[key] !== undefined) {
      throw new InvalidOptionsError(
        key,
        'is not applied in an aikitFastify registered inside a scope that already has one: the ' +
          "enclosing registration's options hold for the request's one Context. Set it there."
      )
    }
  }
}

/**
 * Lets Fastify go on to the route (the `onRequest` hook's `done`, called from inside the chain's
 * `next()`); resolves when the head is written. One function for every request.
 */
export function fastifyDownstream(ctx: FastifyContext): Promise<void> {
  const done = ctx.proceed
  ctx.proceed = undefined
  done?.()
  return ctx.waitForHead()
}

/**
 * The innermost `next()` of a chain that a nested chain may join: lets Fastify go on (its `done`),
 * then resolves once the nested chain that joined has finished, or at the head when none did. A
 * nested hook reached synchronously (the usual case: consecutive `onRequest` hooks) joins during
 * `done()`; one behind an async hook of the app's joins later, before the head, and is awaited
 * once the head is written (a nested chain finishes at or after the head).
 */
export function joinableDownstream(ctx: FastifyContext): Promise<void> {
  const done = ctx.proceed
  ctx.proceed = undefined
  let joined: Promise<void> | undefined
  ctx.onJoin = (chain) => {
    joined = chain
  }
  done?.()
  if (joined !== undefined) return joined
  return ctx.waitForHead().then(() => joined)
}

/**
 * Runs a nested registration's chain on the request's Context: `done` is that registration's
 * `onRequest` callback, called from this chain's innermost `next()` (`downstream`). The chain's
 * errors and short-circuits settle on the Context as in any chain (one error response, its
 * `onError`, `ctx.error`); the enclosing chain's `next()` resolves once this chain has finished.
 */
export function joinChain(
  ctx: FastifyContext,
  middleware: Middleware,
  done: () => void,
  downstream: (ctx: FastifyContext) => Promise<void>
): void {
  // Taken before the chain runs: its own downstream may set one for a chain nested deeper.
  const onJoin = ctx.onJoin
  ctx.onJoin = undefined
  ctx.proceed = done
  // runChain never rejects: every error is settled on the Context.
  const chain = runChain(ctx, middleware, downstream, true)
  onJoin?.(chain)
}
