/**
 * @module @aikit/adapters/fastify
 * Runs AI Kit middleware in Fastify 5 as a plugin.
 *
 * ```ts
 * import Fastify from 'fastify'
 * import { aikitFastify, aikitRoute } from '@aikit/adapters/fastify'
 *
 * const app = Fastify()
 * await app.register(aikitFastify, { use: [requestId(), rateLimit({ ... })], trustProxy: 1 })
 * app.post('/chat', async (request) => request.aikit?.state.subject)
 *
 * // Middleware for one scope's routes only: register it again inside an encapsulated plugin.
 * await app.register(async (scope) => {
 *   await scope.register(aikitFastify, { use: [rateLimit({ ... })] })
 *   scope.post('/chat', handler)
 * })
 *
 * // Middleware for one route: an onRequest hook in the route's options (see route.ts).
 * app.post('/ask', { onRequest: aikitRoute(rateLimit({ ... })) }, handler)
 * ```
 */
import { type IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { type Context, compose, InvalidOptionsError, type Middleware } from '@aikit/core'
import {
  type AdapterOptions,
  type BodyTransformFactory,
  type PendingResponse,
  type ResolvedAdapterOptions,
  resolveAdapterOptions,
  runChain,
  runWithContext,
  type StaticHeaderList,
  scopedContext,
  scopesRequests,
  splitStaticHeaders,
} from '@aikit/core/adapter'
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RegisterOptions,
  RouteHandlerMethod,
} from 'fastify'
import fp from 'fastify-plugin'
import { sendContinue, sendContinueOnRead } from '../shared/expect-continue.js'
import { frameworkErrorResponse } from '../shared/framework-errors.js'
import { clearEntityHeaders, ENTITY_HEADERS, NodeContext } from '../shared/node-context.js'
import { dropBody } from '../shared/pump.js'
import { endWithOwnWrite, injectedEnded } from './inject.js'
import {
  assertNoEarlierNested,
  fastifyDownstream,
  joinableDownstream,
  joinChain,
  type Registration,
  refuseNestedAdapterOptions,
  registrationOf,
  setRegistration,
} from './nesting.js'
import { bindRouteHooks } from './route.js'

export { type AikitRouteHook, aikitRoute } from './route.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The AI Kit Context of this request: null before the `onRequest` hook ran, and when `use`
     * holds only header-only middleware (see `AikitFastifyOptions.use`).
     */
    aikit: Context | null
  }
}

/**
 * Options of `fastify.register(aikitFastify, { use, ...options })`.
 *
 * Registered inside an encapsulated plugin whose scope already has an `aikitFastify` (one
 * registered on an enclosing instance before it), it runs its `use` for that scope's routes only,
 * after the enclosing chain and on the same Context (see nesting.ts); such a nested registration
 * takes `use` and `errorHandler` only: the adapter options are the enclosing registration's, and
 * one given again is refused (`InvalidOptionsError`).
 */
export interface AikitFastifyOptions extends AdapterOptions {
  /**
   * The middleware, run in order in an `onRequest` hook for every request of the scope the plugin
   * is registered in (404s included; a nested registration: its scope's routes, after the
   * enclosing registration's middleware, on the same Context).
   * Header-only middleware (`securityHeaders()` without a CSP nonce) are applied as
   * `reply.header()` calls in that hook; when they are all there is, no Context is created
   * (`request.aikit` stays null) unless `onError` is set or `currentContext()` is in use
   * (`asyncContext: true`, or `'auto'` once requested): the headers then cost what a hand-written
   * hook setting them costs.
   */
  use: Middleware[]
  /**
   * Install an error handler that answers with the kit's JSON error shape. Fastify's default
   * sends a 500's `message` to the client, which can carry a secret. Off by default because it
   * replaces the app's own root error handler (set yours after the plugin to keep it).
   * A 5xx goes to `onError` (a throwing one is ignored), also when it was raised before the kit's
   * hook ran (an earlier hook or plugin): `onError` then gets a Context built for the report.
   * Fastify fixes a route's error handler when the route is declared: routes declared, and
   * plugins registered, before this plugin keep the previous one.
   * @default false
   */
  errorHandler?: boolean
}

/**
 * The keys the plugin's options may hold: its own, the adapter options, and the ones Fastify reads
 * from the same object at `register` (`prefix`, `logLevel`, `logSerializers`; Fastify ignores
 * them for a fastify-plugin plugin, but they are valid there and an app may pass them). Fastify
 * adds nothing else: the plugin gets the object given to `register` (or `{}`), as is. Records, not
 * lists, so the compiler flags a key missing from them.
 */
const PLUGIN_KEYS = Object.keys({
  use: true,
  errorHandler: true,
  prefix: true,
  logLevel: true,
  logSerializers: true,
} satisfies Record<Exclude<keyof AikitFastifyOptions, keyof AdapterOptions>, true> &
  Record<keyof RegisterOptions, true>)

/**
 * The Fastify flavour of the Node context. A body read by `ctx.json()` is kept so that the
 * `preParsing` hook can hand Fastify's own body parser a fresh stream of the same bytes (or of
 * the bytes a middleware replaced them with, see `REPLACE_BODY`).
 */
export class FastifyContext extends NodeContext {
  /** The Fastify request. */
  readonly request: FastifyRequest
  /** The Fastify reply. */
  readonly reply: FastifyReply
  /** The body read through `ctx.json()`, if it was. */
  bodyRead: Promise<Uint8Array> | undefined = undefined
  /** The `onRequest` hook's `done`, until the chain's `next()` calls it. */
  proceed: (() => void) | undefined = undefined
  /** Set while a chain waits in `next()` for a nested registration's chain (see nesting.ts). */
  onJoin: ((chain: Promise<void>) => void) | undefined = undefined

  constructor(request: FastifyRequest, reply: FastifyReply, options: ResolvedAdapterOptions) {
    super(request.raw, reply.raw, options)
    this.request = request
    this.reply = reply
  }

  /**
   * Fastify writes its head with `writeHead(status, reply[kReplyHeaders])`, an object made for
   * this reply: the middleware headers go straight into it, with no copy per request. An object a
   * route passes itself (after `reply.hijack()`) is copied (see `writableHeadHeaders`).
   */
  override ownsHeadHeaders(headers: object): boolean {
    return headers === replyHeaders(this.reply) || super.ownsHeadHeaders(headers)
  }

  protected override readBody(maxBytes: number): Promise<Uint8Array> {
    this.bodyRead ??= super.readBody(maxBytes)
    return this.bodyRead
  }

  /**
   * A nested registration's header-only middleware put `list` on the reply: like a middleware's
   * `setHeader`, they replace what an earlier middleware set for those names (the last writer
   * wins), and a later `ctx.setHeader` of one of them still replaces them.
   */
  noteLaterNativeHeaders(list: StaticHeaderList): void {
    const pending = this.pendingHeaders
    if (pending !== undefined) for (const name of list.lowerNames) pending.delete(name)
    this.noteNativeHeaders(list)
  }

  /**
   * Under `app.inject()` a complete response closes with `writableFinished` false (see
   * `injectedEnded`), which the Node engine reads as a client gone: every injected request
   * finished `aborted`, with `ctx.signal` aborted and a log line saying so. One destroyed before
   * its end (a stream source that failed) still finishes aborted.
   */
  override markFinished(aborted: boolean): void {
    super.markFinished(aborted && !injectedEnded(this.res))
  }

  /** An injected response's `end` must not feed its bytes back into the transform (inject.ts). */
  override transformBody(factory: BodyTransformFactory): void {
    if (!this.headWritten) endWithOwnWrite(this.res)
    super.transformBody(factory)
  }

  /** Fastify's parser gets the replaced bytes (a censored body), not the ones received. */
  protected override onBodyReplaced(value: unknown, bytes: Uint8Array): void {
    super.onBodyReplaced(value, bytes)
    this.bodyRead = Promise.resolve(bytes)
  }

  /**
   * Short-circuit responses (`respond`, the JSON error, a 404 nobody answered) go through
   * Fastify's reply for text, bytes and empty bodies: `reply.code().headers().send()` keeps
   * Fastify's onSend / onResponse hooks and logging, and Fastify's `writeHead` call fires
   * `onHeaders` through the head hook.
   *
   * Streams use `reply.hijack()` and the shared Node pump instead. Fastify's stream path defers the
   * head until the first chunk (an SSE client would see nothing until the first event) and, when
   * the source fails before that chunk, answers with its own error body that carries the error's
   * message. The pump writes and flushes the head at once, waits for 'drain' (backpressure),
   * cancels the source when the client goes away, and reports source errors to `onError`.
   * onResponse hooks still run after a hijack (Fastify listens for 'finish' before onRequest);
   * headers other hooks set with `reply.header()` are copied onto the raw response first.
   *
   * An empty body answering a HEAD goes the same way: the onSend hook of Fastify's automatic HEAD
   * route (`exposeHeadRoutes`) sets `content-length: 0` for an empty payload, whatever the status
   * and the length given, which would put a length on a 204 (RFC 9110 §8.6 forbids it) and
   * replace the GET's length on a 200 or 304 with 0. The Node engine frames it (`frameEmpty`).
   */
  protected override writeResponse(response: PendingResponse): Promise<void> {
    const reply = this.reply
    const res = this.res
    const body = response.body
    if (reply.sent || res.headersSent || res.destroyed) {
      // Nothing more goes out: a stream body is released, never read.
      dropBody(body)
      return Promise.resolve()
    }
    if (body.kind === 'stream' || (body.kind === 'empty' && this.method === 'HEAD')) {
      const replyHeaders = reply.getHeaders()
      reply.hijack()
      for (const name in replyHeaders) {
        const value = replyHeaders[name]
        if (value !== undefined) res.setHeader(name, value)
      }
      return super.writeResponse(response)
    }
    reply.code(response.status)
    clearReplyEntityHeaders(reply)
    reply.headers(response.headers)
    if (body.kind === 'empty') reply.send()
    else if (body.kind === 'text') reply.send(body.text)
    else reply.send(Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength))
    return this.waitForHead()
  }
}

/** Fastify's `kReplyHeaders` symbol (not exported), found on the first reply; null if absent. */
let replyHeadersKey: symbol | null | undefined

/** The headers object Fastify keeps for `reply` and hands to `writeHead`. */
function replyHeaders(reply: FastifyReply): unknown {
  if (replyHeadersKey === undefined) {
    replyHeadersKey =
      Object.getOwnPropertySymbols(reply).find((s) => s.description === 'fastify.reply.headers') ??
      null
  }
  return replyHeadersKey === null
    ? undefined
    : (reply as unknown as Record<symbol, unknown>)[replyHeadersKey]
}

/**
 * Removes the entity headers (see `ENTITY_HEADERS`) set for another body, on the reply and on the
 * raw response, before the kit's own body is sent. Fastify itself drops only Content-Type and
 * Content-Length before its error handler runs; a stale Content-Encoding would label JSON as gzip.
 */
function clearReplyEntityHeaders(reply: FastifyReply): void {
  for (const name of ENTITY_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
  clearEntityHeaders(reply.raw)
}

function validateUse(use: unknown): Middleware[] {
  if (!Array.isArray(use)) {
    throw new InvalidOptionsError('use', 'must be an array of middleware')
  }
  for (let i = 0; i < use.length; i++) {
    if (typeof use[i] !== 'function') {
      throw new InvalidOptionsError(`use[${i}]`, 'must be a function (ctx, next) => Promise')
    }
  }
  return use as Middleware[]
}

/**
 * Takes the `Expect: 100-continue` answer off Node, which sends `100 Continue` on receipt unless
 * the server has a 'checkContinue' listener: the client would upload a body that a middleware
 * (bodyLimit(), csrf(), rateLimit()) then refuses from the head. The listener hands the request
 * to Fastify as Node would, without the 100; it goes out when the body is going to be read (the
 * kit's `ctx.json()`, the `preParsing` hook, or anything reading the request, see
 * `sendContinueOnRead`). One listener per server, added only when it has none: an app that
 * handles 'checkContinue' itself keeps doing so (also when it adds its listener later).
 */
function deferContinue(server: FastifyInstance['server']): void {
  if (server.listenerCount('checkContinue') > 0) return
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (server.listenerCount('checkContinue') > 1) return
    // An HTTP/2 compatibility response (`fastify({ http2: true })`) gets Node's own handling.
    if (res instanceof ServerResponse) sendContinueOnRead(req, res)
    else (res as { writeContinue(): void }).writeContinue()
    server.emit('request', req, res)
  })
}

const plugin: FastifyPluginAsync<AikitFastifyOptions> = async function aikitFastifyPlugin(
  fastify: FastifyInstance,
  opts: AikitFastifyOptions
): Promise<void> {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidOptionsError('options', 'must be an object with a `use` array')
  }
  // An `aikitFastify` already registered on this instance or an enclosing one: this one nests.
  const enclosing = registrationOf(fastify)
  if (enclosing !== undefined) refuseNestedAdapterOptions(opts)
  assertNoEarlierNested(fastify)
  // Validated either way (a typo is refused); a nested registration uses the enclosing options.
  const own = resolveAdapterOptions(opts, PLUGIN_KEYS)
  const resolved = enclosing === undefined ? own : enclosing.options
  const { use, errorHandler } = opts
  if (errorHandler !== undefined && typeof errorHandler !== 'boolean') {
    throw new InvalidOptionsError('errorHandler', 'must be a boolean')
  }
  // Header-only middleware that run first (`securityHeaders()`) are set straight on the reply.
  const { headers, rest } = splitStaticHeaders(validateUse(use))
  const middleware = compose(...rest)
  // With nothing but such headers to run, a request needs a Context only when something reads
  // it through `currentContext()` or `onError` may be called with it.
  const headersOnly = headers !== undefined && rest.length === 0 && resolved.onError === undefined
  const needsContext = (): boolean => !headersOnly || scopesRequests(resolved)

  // The chain's innermost next(): a nested registration, once there is one, makes it wait for
  // the nested chain (see nesting.ts); until then, and in an app without one, the plain one.
  let downstream: (ctx: FastifyContext) => Promise<void> = fastifyDownstream
  const enclosingLists = enclosing?.headerLists ?? []
  const registration: Registration = {
    options: resolved,
    headerLists: headers === undefined ? enclosingLists : [...enclosingLists, headers],
    nest() {
      if (downstream === joinableDownstream) return
      downstream = joinableDownstream
      enclosing?.nest()
    },
    context(request, reply) {
      const ctx = new FastifyContext(request, reply, resolved)
      // A middleware's ctx.setHeader of one of these names still replaces it (see NodeContext).
      for (const list of registration.headerLists) ctx.noteNativeHeaders(list)
      request.aikit = ctx
      return ctx
    },
  }
  setRegistration(fastify, registration)

  /**
   * Hands an error the error handler answers with a 5xx to `onError`, with the request's Context,
   * or with one built for the report when the request has none: it failed before the kit's
   * `onRequest` hook ran (a hook or plugin registered before the kit threw, an auth plugin's
   * own 500). Guarded, as every adapter's report is (`reportError`): an `onError` that throws
   * (a misconfigured Sentry) must not reach Fastify, which would hand that error to the next
   * error handler up (Fastify's default answers a 500 with the thrown error's message).
   */
  const reportError = (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const ctx =
      (request.aikit as FastifyContext | null | undefined) ??
      new FastifyContext(request, reply, resolved)
    ctx.reportError(error)
  }

  if (errorHandler === true) {
    fastify.setErrorHandler(function aikitErrorHandler(error, request, reply) {
      const { status, body, headers } = frameworkErrorResponse(error)
      if (status >= 500 && resolved.onError !== undefined) reportError(error, request, reply)
      clearReplyEntityHeaders(reply)
      if (headers) reply.headers(headers)
      void reply
        .code(status)
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(JSON.stringify(body))
    })
  }

  if (enclosing !== undefined) {
    enclosing.nest()
    // The enclosing registration's decorator, preParsing and onRoute hooks already apply to this
    // scope's routes (Fastify copies a scope's hooks into the scopes created in it).
    fastify.addHook('onRequest', function aikitNestedOnRequest(request, reply, done) {
      let ctx = request.aikit as FastifyContext | null
      if (headers !== undefined) {
        const names = headers.lowerNames
        const values = headers.values
        for (let i = 0; i < values.length; i++) reply.header(names[i]!, values[i]!)
        if (ctx !== null) ctx.noteLaterNativeHeaders(headers)
        else if (!needsContext()) {
          done()
          return
        }
      }
      if (ctx === null) {
        // The enclosing registrations were header-only and built none: this one builds it.
        ctx = registration.context(request, reply)
        ctx.proceed = done
        void runChain(ctx, middleware, downstream, true)
        return
      }
      if (rest.length === 0) {
        done()
        return
      }
      joinChain(ctx, middleware, done, downstream)
    })
    return
  }

  fastify.decorateRequest('aikit', null)
  deferContinue(fastify.server)

  // Callback style: done() is called from inside the chain's `next()`, while the chain is
  // suspended in `await next()`; a short-circuit never calls it (the reply is sent instead).
  // The first registration whose hook a request meets builds its Context: one registered later
  // on this scope or in it nests (above), and one on an enclosing scope after this one is refused
  // (assertNoEarlierNested), so no other hook of the kit runs before this one.
  fastify.addHook('onRequest', function aikitOnRequest(request, reply, done) {
    if (headers !== undefined) {
      const names = headers.lowerNames
      const values = headers.values
      for (let i = 0; i < values.length; i++) reply.header(names[i]!, values[i]!)
      if (!needsContext()) {
        done()
        return
      }
    }
    const ctx = new FastifyContext(request, reply, resolved)
    // A middleware's ctx.setHeader of one of these names still replaces it (see NodeContext).
    if (headers !== undefined) ctx.noteNativeHeaders(headers)
    request.aikit = ctx
    ctx.proceed = done
    // runChain never rejects: it settles every error itself. `true`: the downstream only waits
    // for the head (waitForHead never rejects), or for a nested chain that never rejects either.
    void runChain(ctx, middleware, downstream, true)
  })

  // A middleware that read the body consumed the stream: give Fastify's parser the same bytes.
  fastify.addHook('preParsing', function aikitPreParsing(request, reply, payload, done) {
    // The request goes to Fastify's parser and the route, which may read the body (or write
    // their head first and read it then): a client waiting for `100 Continue` gets it now.
    sendContinue(reply.raw)
    const read = (request.aikit as FastifyContext | null)?.bodyRead
    if (read === undefined) {
      done(null, payload)
      return
    }
    read.then(
      (bytes) =>
        done(null, Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)])),
      (error: unknown) => done(error as Error)
    )
  })

  // Route handlers run inside the request's AsyncLocalStorage scope even when Fastify resumes
  // them from a stream event (body parsing), so `currentContext()` works in every handler.
  // A nested registration's scope inherits this hook: `this` is the instance the route is
  // declared on, whose registration (the innermost enclosing one) runs the route's `aikitRoute`.
  fastify.addHook('onRoute', function aikitOnRoute(this: FastifyInstance, route) {
    bindRouteHooks(route, registrationOf(this) ?? registration)
    const handler = route.handler
    route.handler = function aikitScopedHandler(this: FastifyInstance, request, reply) {
      const ctx = request.aikit
      // Already inside the request's scope (no body to parse: Fastify called us synchronously
      // from the chain's next()), or scoping is off: no second scope needed.
      if (
        ctx === null ||
        ctx === undefined ||
        !scopesRequests(resolved) ||
        scopedContext() === ctx
      ) {
        return handler.call(this, request, reply)
      }
      return runWithContext(ctx, () => handler.call(this, request, reply))
    } as RouteHandlerMethod
  })
}

/**
 * The Fastify plugin: `fastify.register(aikitFastify, { use: [...middleware], ...AdapterOptions })`.
 * Invalid options, and an option key that is neither the plugin's nor Fastify's (a typo such as
 * `trustproxy`), make `register` / `ready()` reject with `InvalidOptionsError` naming the field.
 * The plugin handles `Expect: 100-continue` on `fastify.server` (a 'checkContinue' listener,
 * unless the app has one): `100 Continue` goes out only when the body is going to be read, so a
 * request refused from its head (413, 403, 429) gets the final status without it.
 */
export const aikitFastify = fp(plugin, { name: '@aikit/adapters/fastify', fastify: '5.x' })
