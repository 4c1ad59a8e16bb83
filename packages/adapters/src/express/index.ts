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
  isJsonContentType,
  parseJsonBody,
  type ResolvedAdapterOptions,
  rejectUnknownOptions,
  resolveAdapterOptions,
  runChain,
  type StaticHeaderList,
  scopesRequests,
  splitStaticHeaders,
} from '@aikit/core/adapter'
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import { splitArgs } from '../shared/args.js'
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
    if (!isRawBody(this.req, body)) {
      assertJsonValue(body, maxDepth)
      return body
    }
    this.rawBodyForm = typeof body === 'string' ? 'string' : 'buffer'
    const bytes = typeof body === 'string' ? encoder.encode(body) : body
    const maxBytes = limits?.maxBytes ?? this.options.maxBodyBytes
    const policy = this.bodyPolicy
    const limit = policy === undefined ? maxBytes : Math.min(maxBytes, policy.maxBytes)
    if (bytes.byteLength > limit) throw new PayloadTooLargeError(limit)
    return parseJsonBody(bytes, maxDepth)
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
 * Header-only middleware (`securityHeaders()` without a CSP nonce) are applied as
 * `res.setHeader()` calls before the chain; when they are all there is, no Context is created
 * (`res.locals.aikit` stays unset) unless `onError` is set or `currentContext()` is in use
 * (`asyncContext: true`, or `'auto'` once requested): the headers then cost what helmet's do.
 */
export function toExpress(
  ...args: [...Middleware[], ExpressAdapterOptions] | Middleware[]
): RequestHandler {
  const split = splitArgs<ExpressAdapterOptions>(args)
  const resolved: ResolvedAdapterOptions = resolveAdapterOptions(split.options)
  // Header-only middleware that run first (`securityHeaders()`) are set straight on the response.
  const { headers, rest } = splitStaticHeaders(split.list)
  if (headers === undefined) return chainHandler(split.middleware, resolved, undefined)
  if (rest.length > 0 || resolved.onError !== undefined) {
    return chainHandler(compose(...rest), resolved, headers)
  }
  return headersOnlyHandler(headers, resolved)
}

/**
 * Runs `middleware` with a Context per request, after setting `headers` when given (noted on the
 * Context, so that a middleware's `ctx.setHeader` of one of them still replaces it).
 */
function chainHandler(
  middleware: Middleware,
  resolved: ResolvedAdapterOptions,
  headers: StaticHeaderList | undefined
): RequestHandler {
  return function aikit(req: Request, res: Response, next: NextFunction): void {
    const raw = res as unknown as ServerResponse
    if (headers !== undefined) setStaticHeaders(raw, headers)
    // Under Express the head is hooked on its response prototype (see head-hook.ts).
    const proto = expressResponsePrototype(raw)
    const ctx = new ExpressContext(req as unknown as IncomingMessage, raw, resolved, !proto)
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
 * (`res.locals.aikit` stays unset) unless something reads `currentContext()`.
 */
function headersOnlyHandler(
  headers: StaticHeaderList,
  resolved: ResolvedAdapterOptions
): RequestHandler {
  const withContext = chainHandler(compose(), resolved, headers)
  return function aikit(req: Request, res: Response, next: NextFunction): void {
    if (scopesRequests(resolved)) {
      withContext(req, res, next)
      return
    }
    setStaticHeaders(res as unknown as ServerResponse, headers)
    next()
  }
}

/** Hands the request to the rest of the Express stack; resolves when the head is written. */
function expressDownstream(ctx: ExpressContext): Promise<void> {
  const next = ctx.proceed
  ctx.proceed = undefined
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
 * when marked `expose`, and never for a parser's error: V8's JSON SyntaxError quotes the body);
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
    const { status, body } = frameworkErrorResponse(error)
    if (status >= 500) report(error, req)
    const text = JSON.stringify(body)
    res.status(status)
    // What the route set for its own body (Content-Length, Content-Encoding, …) is not this one's.
    clearEntityHeaders(res as unknown as ServerResponse)
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.setHeader('cache-control', 'no-store')
    res.setHeader('content-length', Buffer.byteLength(text))
    res.end(text)
  }
}
