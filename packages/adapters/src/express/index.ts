/**
 * @module @aikit/adapters/express
 * Runs AI Kit middleware as one Express middleware (Express 5 and 4).
 *
 * ```ts
 * import express from 'express'
 * import { toExpress } from '@aikit/adapters/express'
 *
 * const app = express()
 * app.use(toExpress(requestId(), rateLimit({ ... }), { trustProxy: 1 }))
 * app.post('/chat', (req, res) => {
 *   const ctx = res.locals.aikit // the request's Context: state, signal, ...
 * })
 * ```
 *
 * A request has one Context however many `toExpress` chains it passes through (an app-level
 * chain plus a route-level one): the first builds it, the later ones run on it (see `joinChain`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type BodyLimits,
  type Context,
  compose,
  InvalidOptionsError,
  type Middleware,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '@aikit/core'
import {
  type AdapterOptions,
  assertJsonValue,
  emitProcessWarning,
  isJsonContentType,
  parseJsonBody,
  type ResolvedAdapterOptions,
  rejectUnknownOptions,
  resolveAdapterOptions,
  runChain,
  runWithContext,
  type StaticHeaderList,
  scopesRequests,
  splitStaticHeaders,
} from '@aikit/core/adapter'
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import { splitArgs } from '../shared/args.js'
import { sendContinue } from '../shared/expect-continue.js'
import { frameworkErrorResponse } from '../shared/framework-errors.js'
import { clearEntityHeaders, NodeContext } from '../shared/node-context.js'
import { expressResponsePrototype, hookExpressHead } from './head-hook.js'
import { isRawBodyText } from './raw-text.js'

declare global {
  namespace Express {
    interface Locals {
      /** The AI Kit Context of this request, set by `toExpress`. */
      aikit?: Context
    }
  }
}

/** Options of `toExpress` (the options every adapter takes). */
export type ExpressAdapterOptions = AdapterOptions

/** What body-parser looks at (1.x skips when `_body` is set, 2.x when the stream is finished). */
interface BodyRequest extends IncomingMessage {
  originalUrl?: string
  body?: unknown
  _body?: boolean
}

/**
 * The Express flavour of the Node context: the path comes from `originalUrl` (mounting rewrites
 * `req.url`), and a body read by `ctx.json()` is left as `req.body` with `req._body = true` so
 * `express.json()` / body-parser after it skip the already-consumed stream. A body that
 * body-parser parsed before the kit ran is reused by `ctx.json()` (body-parser's size limit
 * applied) after the kit's own depth, member-count and prototype-key checks; a raw Buffer or
 * string (`express.raw()`, `express.text()`) is parsed by the kit, while a string that
 * `express.json({ strict: false })` parsed is returned as it is (see `isRawBodyText`).
 */
export class ExpressContext extends NodeContext {
  private parsed: Promise<unknown> | undefined = undefined
  /** Set when body-parser left the raw body (`express.raw()` / `express.text()`) in `req.body`. */
  private rawBodyForm: 'buffer' | 'string' | undefined = undefined
  /** Express's `next` for this layer, until the chain's `next()` calls it. */
  proceed: (() => void) | undefined = undefined
  /** The `toExpress` call that built this Context: its options hold for the whole request. */
  chain: ExpressChain | undefined = undefined

  protected override rawUrl(): string {
    const req = this.req as BodyRequest
    return req.originalUrl ?? req.url ?? '/'
  }

  override json<T = unknown>(limits?: BodyLimits): Promise<T> {
    if (this.parsed === undefined) {
      const req = this.req as BodyRequest
      if (!this.bodyStarted && parsedByBodyParser(req)) {
        this.parsed = new Promise((resolve) => resolve(this.reuseParsedBody(limits)))
      } else {
        this.parsed = super.json(limits).then((value) => {
          req.body = value
          return value
        })
      }
    }
    return this.parsed as Promise<T>
  }

  /**
   * The body an earlier body-parser left in `req.body`, held to what `ctx.json()` guarantees: a
   * JSON content type (else 415); a parsed value passes the depth, member-count and prototype-key
   * checks (400); a Buffer or string (`express.raw()` / `express.text()`) is parsed as the kit
   * parses bytes, size included (413), and `req.body` keeps the route's raw form. A string that
   * `express.json({ strict: false })` parsed is a value, not text to parse again.
   */
  private reuseParsedBody(limits: BodyLimits | undefined): unknown {
    if (!isJsonContentType(this.header('content-type'))) {
      throw new UnsupportedMediaTypeError('application/json')
    }
    const body = (this.req as BodyRequest).body
    const maxDepth = limits?.maxDepth ?? this.options.maxJsonDepth
    const maxKeys = limits?.maxKeys ?? this.options.maxJsonKeys
    if (!isRawBody(this.req, body)) {
      assertJsonValue(body, maxDepth, { maxKeys })
      return body
    }
    this.rawBodyForm = typeof body === 'string' ? 'string' : 'buffer'
    const bytes = typeof body === 'string' ? encoder.encode(body) : body
    const maxBytes = limits?.maxBytes ?? this.options.maxBodyBytes
    const policy = this.bodyPolicy
    const limit = policy === undefined ? maxBytes : Math.min(maxBytes, policy.maxBytes)
    if (bytes.byteLength > limit) throw new PayloadTooLargeError(limit)
    return parseJsonBody(bytes, maxDepth, { maxKeys })
  }

  /**
   * A later chain's header-only middleware put `list` on the response: like a middleware's
   * `setHeader`, they replace what an earlier middleware set for those names (the last writer
   * wins), and a later `ctx.setHeader` of one of them still replaces them.
   */
  noteLaterNativeHeaders(list: StaticHeaderList): void {
    const pending = this.pendingHeaders
    if (pending !== undefined) for (const name of list.lowerNames) pending.delete(name)
    this.noteNativeHeaders(list)
  }

  protected override readBody(maxBytes: number): Promise<Uint8Array> {
    ;(this.req as BodyRequest)._body = true
    return super.readBody(maxBytes)
  }

  /** A replaced body (`REPLACE_BODY`) is what `ctx.json()` and the route's `req.body` hold. */
  protected override onBodyReplaced(value: unknown, bytes: Uint8Array): void {
    super.onBodyReplaced(value, bytes)
    this.parsed = Promise.resolve(value)
    // A route behind `express.raw()` / `express.text()` reads the new bytes in the form it chose.
    ;(this.req as BodyRequest).body =
      this.rawBodyForm === 'buffer'
        ? Buffer.from(bytes)
        : this.rawBodyForm === 'string'
          ? decoder.decode(bytes)
          : value
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A Buffer, or a string that is the raw body text rather than a parsed JSON string. */
function isRawBody(req: IncomingMessage, body: unknown): body is string | Uint8Array {
  return body instanceof Uint8Array || (typeof body === 'string' && isRawBodyText(req, body))
}

/** body-parser 1.x flags `req._body`; 2.x leaves `req.body` set and the stream consumed. */
function parsedByBodyParser(req: BodyRequest): boolean {
  if (req._body === true) return true
  return req.body !== undefined && (req.readableEnded || (req.complete && !req.readable))
}

/**
 * Builds an Express middleware: `toExpress(...middleware, options?)`. A trailing plain object is
 * the options; a bad option, or a key that is not one (a typo such as `trustproxy`), throws
 * `InvalidOptionsError` here, naming the field. `next()` inside the chain hands the request to the rest of the Express stack and
 * resolves when the route writes the head (or the response closes). The handler never throws or
 * rejects into Express: errors become the kit's JSON error response. The Context is available to
 * routes as `res.locals.aikit`.
 *
 * A request gets one Context: a `toExpress` reached by a request that already has one (an
 * app-level chain, then a route-level one) runs its middleware on that Context (see `joinChain`,
 * which also says what becomes of the later call's options).
 *
 * Header-only middleware (`securityHeaders()` without a CSP nonce) are applied as
 * `res.setHeader()` calls before the chain; when they are all there is, no Context is created
 * (`res.locals.aikit` stays unset) unless `onError` is set or `currentContext()` is in use
 * (`asyncContext: true`, or `'auto'` once requested): the headers then cost what helmet's do.
 *
 * `Expect: 100-continue`: Node answers `100 Continue` on receipt, before any middleware, so a
 * client is told to upload a body that bodyLimit(), csrf() or rateLimit() then refuse. With
 * `server.on('checkContinue', app)` (beside `createServer(app)`), the 100 goes out only when the
 * kit reads the body (`ctx.json()`) or hands the request on (`next()`), and a refusal comes
 * without it. Only for an app where every request passes an app-level `toExpress` before anything
 * reads its body: a body parser mounted before it, or a route it does not cover, would wait for a
 * 100 nobody sends (the client sends the body after its own timeout, curl's is 1 s).
 */
export function toExpress(
  ...args: [...Middleware[], ExpressAdapterOptions] | Middleware[]
): RequestHandler {
  const split = splitArgs<ExpressAdapterOptions>(args)
  const chain = expressChain(split.options)
  // Header-only middleware that run first (`securityHeaders()`) are set straight on the response.
  const { headers, rest } = splitStaticHeaders(split.list)
  if (headers === undefined) return chainHandler(split.middleware, chain, undefined)
  if (rest.length > 0 || chain.options.onError !== undefined) {
    return chainHandler(compose(...rest), chain, headers)
  }
  return headersOnlyHandler(headers, chain)
}

/** One `toExpress` call, as the requests entering it need it. */
interface ExpressChain {
  readonly options: ResolvedAdapterOptions
  /** `trustProxy` as given, in a form two calls compare by (`'false'` when not given). */
  readonly trustKey: string
  /** Which of the options a Context keeps for the whole request this call was given. */
  readonly given: {
    readonly trustProxy: boolean
    readonly maxBodyBytes: boolean
    readonly maxJsonDepth: boolean
    readonly maxJsonKeys: boolean
    readonly onError: boolean
  }
  /** Set once this call warned that its options are not a request's (see `joinChain`). */
  warned: boolean
}

function expressChain(options: ExpressAdapterOptions | undefined): ExpressChain {
  const resolved = resolveAdapterOptions(options)
  const o = options ?? {}
  return {
    options: resolved,
    trustKey: trustProxyKey(o.trustProxy),
    given: {
      trustProxy: o.trustProxy !== undefined,
      maxBodyBytes: o.maxBodyBytes !== undefined,
      maxJsonDepth: o.maxJsonDepth !== undefined,
      maxJsonKeys: o.maxJsonKeys !== undefined,
      onError: o.onError !== undefined,
    },
    warned: false,
  }
}

/** `trustProxy` normalised for comparing two calls' (`'loopback'` and `['loopback']` are one). */
function trustProxyKey(value: ExpressAdapterOptions['trustProxy']): string {
  // A hop count of 0 trusts no hop, as `false` does.
  if (value === undefined || value === false || value === 0) return 'false'
  if (typeof value === 'number') return String(value)
  // A string is a comma-separated list (`'loopback, uniquelocal'`), as the resolver reads it.
  const list = typeof value === 'string' ? value.split(',') : [...value]
  return JSON.stringify(list.map((entry) => entry.trim()).sort())
}

/**
 * The Context an earlier `toExpress` built for this request, if any. It is found where the
 * adapter exposes it, `res.locals.aikit`: Express creates `res.locals` for each request before any
 * middleware and keeps it across mounted sub-apps, and reading it costs nothing, where a WeakMap
 * would cost a set and a get per request and an own property on Express's prototype-swapped
 * response costs far more (see head-hook.ts). Something else an app put there is not taken for it.
 */
function requestContext(res: Response, raw: ServerResponse): ExpressContext | undefined {
  const ctx = (res.locals as Response['locals'] | undefined)?.aikit
  return ctx instanceof ExpressContext && ctx.res === raw ? ctx : undefined
}

/**
 * Runs `middleware` with a Context per request, after setting `headers` when given (noted on the
 * Context, so that a middleware's `ctx.setHeader` of one of them still replaces it). A request
 * that already has a Context runs on it (`joinChain`).
 */
function chainHandler(
  middleware: Middleware,
  chain: ExpressChain,
  headers: StaticHeaderList | undefined
): RequestHandler {
  const resolved = chain.options
  return function aikit(req: Request, res: Response, next: NextFunction): void {
    const raw = res as unknown as ServerResponse
    const existing = requestContext(res, raw)
    if (existing !== undefined) {
      joinChain(existing, middleware, chain, headers, next)
      return
    }
    if (headers !== undefined) setStaticHeaders(raw, headers)
    // Under Express the head is hooked on its response prototype (see head-hook.ts).
    const proto = expressResponsePrototype(raw)
    const ctx = new ExpressContext(req as unknown as IncomingMessage, raw, resolved, !proto)
    ctx.chain = chain
    if (headers !== undefined) ctx.noteNativeHeaders(headers)
    if (proto !== undefined) hookExpressHead(proto, raw, ctx)
    if (res.locals !== undefined) res.locals.aikit = ctx
    ctx.proceed = next
    // runChain never rejects: it settles every error itself. `true`: the downstream only waits
    // for the head (waitForHead never rejects).
    void runChain(ctx, middleware, expressDownstream, true)
  }
}

/**
 * Runs a later chain on the request's Context `ctx`, which an earlier `toExpress` built (an
 * app-level chain, then a route-level one). One Context per request: what the earlier chain set
 * (`state.subject`, `state.requestId`, the logger's fields) is this chain's and the route's
 * (`res.locals.aikit`, `currentContext()`), and every chain's `onHeaders` hooks and `finished`
 * listeners run once, at the one head and end, with the final status. A `respond()` or an error
 * here is settled on that Context as in any chain (one error response, the Context's `onError`,
 * `ctx.error`), and it is the earlier chain's response too: its `await next()` resumes at that head.
 * The head hook is already registered for the Context: nothing more to hook.
 *
 * Options. The Context keeps the options of the call that built it for the whole request: by the
 * time a later chain runs, the request's IP may be resolved (and be a rate-limit key, or logged),
 * its body read under those limits, its errors reported to that `onError`; switching options
 * mid-request would give one request two IPs or two limits. So a later call's `trustProxy`,
 * `maxBodyBytes`, `maxJsonDepth` and `onError` do not apply to a request that already has a
 * Context. When a later call was given one of them with another value than the Context's, one
 * process warning (`AIKIT_EXPRESS_OPTIONS`, once per call, through `process.emitWarning` as the
 * kit's other warnings) says so: the two calls cannot be compared when they are made, and an option
 * dropped without a word is a trap (a route-level `trustProxy: 1` ignored leaves every client the
 * proxy's IP, one rate-limit bucket). `asyncContext` is per chain: this chain, and so the route
 * after it, runs in the Context's scope when either call asks for it (an earlier scope may not
 * reach this far: body-parser resumes from the request stream's events, outside it).
 */
function joinChain(
  ctx: ExpressContext,
  middleware: Middleware,
  chain: ExpressChain,
  headers: StaticHeaderList | undefined,
  next: NextFunction
): void {
  const late = ctx.headersSent
  if (headers !== undefined && !late) {
    setStaticHeaders(ctx.res, headers)
    ctx.noteLaterNativeHeaders(headers)
  }
  const first = ctx.chain
  if (first !== undefined && first !== chain && !chain.warned) warnUnappliedOptions(first, chain)
  ctx.proceed = next
  const run =
    !ctx.asyncContext && scopesRequests(chain.options)
      ? runWithContext(ctx, () => runChain(ctx, middleware, expressDownstream, true))
      : runChain(ctx, middleware, expressDownstream, true)
  if (late) void run.then(() => closeUnanswered(ctx, next))
}

/**
 * A chain joined after the head was written (a handler before it wrote or flushed the head and
 * still called `next()`) that did not hand the request on (it answered, failed, e.g. a
 * `ctx.setHeader` refused with HEADERS_SENT, or just returned): nothing can reach the client any
 * more and nothing else will end the response, so it is destroyed, as Express does for an error
 * after the head, rather than left open until the client gives up. The error went to `onError`.
 */
function closeUnanswered(ctx: ExpressContext, next: NextFunction): void {
  if (ctx.proceed !== next) return // handed on: the rest of the stack owns the response
  ctx.proceed = undefined
  if (!ctx.res.writableEnded) ctx.res.destroy()
}

/** Warns (once per later call) when `later` was given options other than the Context's. */
function warnUnappliedOptions(first: ExpressChain, later: ExpressChain): void {
  const given = later.given
  const a = first.options
  const b = later.options
  const fields: string[] = []
  if (given.trustProxy && later.trustKey !== first.trustKey) fields.push('trustProxy')
  if (given.maxBodyBytes && b.maxBodyBytes !== a.maxBodyBytes) fields.push('maxBodyBytes')
  if (given.maxJsonDepth && b.maxJsonDepth !== a.maxJsonDepth) fields.push('maxJsonDepth')
  if (given.maxJsonKeys && b.maxJsonKeys !== a.maxJsonKeys) fields.push('maxJsonKeys')
  if (given.onError && b.onError !== a.onError) fields.push('onError')
  if (fields.length === 0) return
  later.warned = true
  emitProcessWarning(
    `toExpress(): a request reached this toExpress with the Context an earlier toExpress built ` +
      `(a request has one Context), whose ${fields.join(', ')} ` +
      `${fields.length === 1 ? 'differs' : 'differ'} from this call's: the earlier call's hold ` +
      'for the whole request and these are not applied. Give adapter options to the first ' +
      'toExpress a request passes through (the app-level one) and leave them out of later ones.',
    'AIKIT_EXPRESS_OPTIONS'
  )
}

/**
 * Sets the list with its lower-case names: Node lower-cases each name to key its header map, and a
 * name already in lower case skips that new string and its interning (~1.4k instructions a header
 * per request under Express, by valgrind). Header names are case-insensitive (RFC 9110 §5.1);
 * Fastify sends every name in lower case too.
 */
function setStaticHeaders(res: ServerResponse, headers: StaticHeaderList): void {
  const names = headers.lowerNames
  const values = headers.values
  try {
    for (let i = 0; i < values.length; i++) res.setHeader(names[i]!, values[i]!)
    if (headers.removePoweredBy) res.removeHeader('X-Powered-By')
  } catch {
    // The head is already out (an earlier layer answered and still called next()): too late
    // for headers, and nothing may throw into Express from here.
  }
}

/**
 * `toExpress` of header-only middleware: the headers, then Express's `next`, with no Context
 * (`res.locals.aikit` stays unset) unless something reads `currentContext()`. A request that
 * already has a Context gets them as a later chain's (see `joinChain`).
 */
function headersOnlyHandler(headers: StaticHeaderList, chain: ExpressChain): RequestHandler {
  const withContext = chainHandler(compose(), chain, headers)
  return function aikit(req: Request, res: Response, next: NextFunction): void {
    const raw = res as unknown as ServerResponse
    if (scopesRequests(chain.options) || requestContext(res, raw) !== undefined) {
      withContext(req, res, next)
      return
    }
    setStaticHeaders(raw, headers)
    sendContinue(raw) // the rest of the stack may read the body (see toExpress)
    next()
  }
}

/** Hands the request to the rest of the Express stack; resolves when the head is written. */
function expressDownstream(ctx: ExpressContext): Promise<void> {
  const next = ctx.proceed
  ctx.proceed = undefined
  // The rest of the stack may read the body: a client waiting for `100 Continue` gets it now.
  if (next !== undefined) sendContinue(ctx.res)
  next?.()
  return ctx.waitForHead()
}

/** Options of `aikitErrorHandler`. */
export interface AikitErrorHandlerOptions {
  /** Called with every 5xx error (and errors after the head) for logging / Sentry. @default undefined */
  onError?: (error: unknown, req: Request) => void
}

/** The keys of `AikitErrorHandlerOptions` (a record: the compiler flags one missing). */
const ERROR_HANDLER_KEYS = Object.keys({
  onError: true,
} satisfies Record<keyof AikitErrorHandlerOptions, true>)

/**
 * An Express error handler that answers with the kit's JSON error shape instead of Express's
 * default (an HTML page with the stack trace outside production). Mount it last:
 * `app.use(aikitErrorHandler())`. Kit errors keep their code and status; 4xx errors from
 * body-parser and http-errors map to `INVALID_REQUEST`, `PAYLOAD_TOO_LARGE`, … (their message only
 * when marked `expose`, and never for a parser's error: V8's JSON SyntaxError quotes the body;
 * an http-errors error's `Retry-After`, `Allow`, `WWW-Authenticate` headers are sent);
 * anything else is `500 INTERNAL` with no message. Entity headers the route set for its own
 * body (Content-Length, Content-Encoding, …) are dropped first, as finalhandler does.
 */
export function aikitErrorHandler(options: AikitErrorHandlerOptions = {}): ErrorRequestHandler {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, ERROR_HANDLER_KEYS)
  const onError = options.onError
  if (onError !== undefined && typeof onError !== 'function') {
    throw new InvalidOptionsError('onError', 'must be a function')
  }
  const report = (error: unknown, req: Request): void => {
    try {
      onError?.(error, req)
    } catch {
      // A failing reporter must not break the response.
    }
  }
  return function aikitErrorHandler(
    error: unknown,
    req: Request,
    res: Response,
    next: NextFunction
  ) {
    if (res.headersSent) {
      report(error, req)
      next(error) // Express closes the connection of a response that already started
      return
    }
    const { status, body, headers } = frameworkErrorResponse(error)
    if (status >= 500) report(error, req)
    // The client is gone (it reset mid-upload: body-parser's 'request aborted'): no one to answer,
    // and an answer written into the dead socket would mark the response finished (logged and
    // counted as a 4xx the client never got, not as aborted).
    if (res.destroyed || req.socket?.destroyed === true) return
    const text = JSON.stringify(body)
    res.status(status)
    // What the route set for its own body (Content-Length, Content-Encoding, …) is not this one's.
    clearEntityHeaders(res as unknown as ServerResponse)
    if (headers) for (const name in headers) res.setHeader(name, headers[name] as string)
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.setHeader('cache-control', 'no-store')
    res.setHeader('content-length', Buffer.byteLength(text))
    res.end(text)
  }
}
