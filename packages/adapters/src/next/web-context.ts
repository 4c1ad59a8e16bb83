/**
 * @module next/web-context
 * The Context over a Web `Request` (App Router route handlers, `proxy.ts`, Edge `middleware.ts`).
 * Edge-safe: Web `Request`/`Response`/`Headers`/streams only, no `node:` import.
 */
import { AikitError, PayloadTooLargeError } from '@aikit/core'
import {
  BaseContext,
  type BodyCoding,
  type BodyTransform,
  type BodyTransformFactory,
  DEFAULT_BODY_TIMEOUT_MS,
  limitWebBody,
  type PendingResponse,
  parseContentEncoding,
  type ResolvedAdapterOptions,
  type ResponseHead,
  ROUTE_COOKIES,
  readWebBody,
  runWithContext,
  unsupportedEncodingError,
  type WebBodyLimits,
} from '@aikit/core/adapter'
import { chainFactories } from '../shared/chain-transforms.js'
import { byteCount } from '../shared/content-length.js'
import type { IpMode } from './args.js'
import { bodyFromNormalized, type Scope, trackedStream } from './body.js'
import { applyPendingHeaders } from './headers.js'

/**
 * Stands for the socket peer, which a Web `Request` does not expose. With a hop count, the peer is
 * the nearest of the app's own proxies (it is never the answer); it is not an IP, so it can never
 * be returned as one.
 */
const UNKNOWN_PEER = 'unknown-peer'

/**
 * The method `setRequestHeader` calls. A registry symbol, so a package that must not depend on this
 * adapter (a CSP middleware handing its nonce to Next) can call
 * `ctx[Symbol.for('@aikit/adapters.next.set-request-header')]?.(name, value)` directly.
 */
export const SET_REQUEST_HEADER: unique symbol = Symbol.for(
  '@aikit/adapters.next.set-request-header'
) as never

export class WebContext extends BaseContext {
  readonly method: string
  readonly request: Request
  #response: Response | undefined = undefined
  /** Called when the final Response is set: the head is made (see `handOver`). */
  onResponse: (() => void) | undefined = undefined
  /** The final Response, set once the head is "written" (the Response is built). */
  get response(): Response | undefined {
    return this.#response
  }
  set response(response: Response | undefined) {
    this.#response = response
    if (response !== undefined) this.onResponse?.()
  }
  /** The body bytes a middleware read through `ctx.json()`, handed on to the route. */
  bodyBytes: Uint8Array | undefined = undefined
  /** The request's headers plus those a middleware set with `setRequestHeader`. */
  requestHeaders: Headers | undefined = undefined
  private readonly ipMode: IpMode
  private pathValue: string | undefined = undefined
  private queryValue = ''
  private abortListener: (() => void) | undefined = undefined
  private bodyFactory: BodyTransformFactory | undefined = undefined
  /** Set when the body was decoded: the route must not see its Content-Encoding any more. */
  private bodyDecoded = false
  /** Set when a middleware replaced the body (`REPLACE_BODY`): its length changed. */
  private bodyReplaced = false
  /**
   * A middleware asked for every cookie the route sets (`ROUTE_COOKIES`): `withAikit` reads the
   * ones Next adds after the handler returned before it adopts the Response.
   */
  routeCookiesWanted = false
  /**
   * Why a limited body read failed (413 / 408 / 400). It decides the answer even when the route
   * caught the read's error, or rethrew it wrapped in another one.
   */
  bodyFailure: AikitError | undefined = undefined
  /**
   * Set when a body read stopped before the end of the body (413, 408, 400): whatever answer goes
   * out asks the server to close the connection, as the Node adapters do, rather than read (and
   * discard) the rest of the body to reuse it.
   */
  private closeConnection = false

  constructor(request: Request, options: ResolvedAdapterOptions, ipMode: IpMode) {
    super(options)
    this.request = request
    const m = request.method
    this.method = m === 'PATCH' || m === 'GET' || m === 'POST' ? m : m.toUpperCase()
    this.ipMode = ipMode
  }

  get path(): string {
    if (this.pathValue === undefined) this.parseUrl()
    return this.pathValue!
  }

  get query(): string {
    if (this.pathValue === undefined) this.parseUrl()
    return this.queryValue
  }

  /** `Request.url` is absolute and fragment-free: slice the path and query out without `new URL`. */
  private parseUrl(): void {
    const url = this.request.url
    const scheme = url.indexOf('://')
    const start = url.indexOf('/', scheme === -1 ? 0 : scheme + 3)
    if (start === -1) {
      this.pathValue = '/'
      const q = url.indexOf('?')
      this.queryValue = q === -1 ? '' : url.slice(q + 1)
      return
    }
    const q = url.indexOf('?', start)
    this.pathValue = q === -1 ? url.slice(start) : url.slice(start, q)
    this.queryValue = q === -1 ? '' : url.slice(q + 1)
  }

  header(name: string): string | undefined {
    try {
      return this.request.headers.get(name) ?? undefined
    } catch {
      // `Headers.get` throws for a name that is not a header token (`:authority`, `a b`): no such
      // header was sent, as the Node contexts answer for the same name.
      return undefined
    }
  }

  /**
   * A Web `Request` carries no socket address, and `next start` only fills in
   * `X-Forwarded-For` with the socket address when the client sent none (it does not append), so
   * a client can write that header freely. Hence: with `trustProxy: false` the IP is undefined;
   * with a hop count the (unknown) peer is taken to be the nearest trusted proxy; with CIDRs the
   * `X-Forwarded-For` hops are walked from the right. Both assume the app is reachable only
   * through those proxies.
   */
  protected remoteAddress(): string | undefined {
    return this.ipMode === 'hops' ? UNKNOWN_PEER : undefined
  }

  protected async readBody(maxBytes: number): Promise<Uint8Array> {
    const policy = this.bodyPolicy
    const limit = policy === undefined ? maxBytes : Math.min(maxBytes, policy.maxBytes)
    const declared = this.declaredLength()
    if (typeof declared === 'number' && declared > limit) {
      this.closeConnection = true
      throw new PayloadTooLargeError(limit)
    }
    const body = this.request.body
    const codings = this.codings()
    // JSON is parsed from decoded bytes only: a coding not decoded here is 415.
    if (codings === null) throw unsupportedEncodingError()
    // A `ctx.json()` failure is the middleware's to handle (it may catch it): not recorded.
    const bytes =
      body === null
        ? new Uint8Array(0)
        : await readWebBody(this.limited(body, limit, codings, false))
    this.bodyBytes = bytes
    return bytes
  }

  /** The route gets the replaced bytes (a censored body), not the ones received. */
  protected override onBodyReplaced(_value: unknown, bytes: Uint8Array): void {
    this.bodyBytes = bytes
    this.bodyReplaced = true
  }

  /** The request's Content-Length (see `declaredLength`). */
  private declaredLength(): number | 'invalid' | undefined {
    return declaredLength(this.request.headers.get('content-length'))
  }

  /** The codings to decode under the policy: `null` when the body is encoded and must not be. */
  private codings(): BodyCoding[] | null {
    const codings = parseContentEncoding(this.request.headers.get('content-encoding') ?? undefined)
    if (codings === null) return null
    return codings.length === 0 || this.bodyPolicy?.decompress === true ? codings : null
  }

  /**
   * The request body counted (decoded size), timed and decoded per `codings`, under this
   * request's body policy (or the adapter defaults), its raw size held to its Content-Length (a
   * Web `Request` built on a stream does not enforce it, a Node `IncomingMessage` does). With
   * `record`, a failure is kept in `bodyFailure` (the route's own reads: it then decides the
   * answer).
   */
  private limited(
    body: ReadableStream<Uint8Array>,
    maxBytes: number,
    codings: BodyCoding[],
    record: boolean
  ): ReadableStream<Uint8Array> {
    let stream: ReadableStream<Uint8Array>
    try {
      const limits: WebBodyLimits = {
        maxBytes,
        timeoutMs: this.bodyPolicy?.timeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
        codings,
        declaredBytes: this.declaredLength(),
      }
      limits.onFail = record
        ? (error) => this.recordFailure(error)
        : () => {
            this.closeConnection = true
          }
      stream = limitWebBody(body, limits)
    } catch (error) {
      if (record) this.recordFailure(error as AikitError)
      throw error
    }
    if (codings.length > 0) this.bodyDecoded = true
    return stream
  }

  private recordFailure(error: AikitError): AikitError {
    this.bodyFailure ??= error
    this.closeConnection = true
    return error
  }

  /**
   * A body failure decides the error response, whatever the route made of its read error (the
   * response then asks to close the connection: see `closeConnection`).
   */
  override fail(error: unknown): void {
    super.fail(this.bodyFailure ?? error)
  }

  /** The final head's framing: `Connection: close` after a body read stopped short. */
  private frame(headers: Headers): void {
    if (this.closeConnection) headers.set('connection', 'close')
  }

  /**
   * True once the client is gone (`request.signal` aborted): a body handed over now would never
   * be read. Next's `pipeToNodeResponse` returns without reading or cancelling the body of a
   * response whose socket is already destroyed, so the kit releases it.
   */
  private clientLeft(): boolean {
    return this.request.signal.aborted
  }

  /**
   * Registers a transform factory called when the route's Response is adopted (see
   * `Context.transformBody`; several are chained); its body is then piped through the transform. The transform is
   * injected (compress() brings its codec), so this module stays edge-safe.
   */
  transformBody(factory: BodyTransformFactory): void {
    if (typeof factory !== 'function') throw new TypeError('transformBody expects a function')
    if (this.headWritten) {
      throw new AikitError('HEADERS_SENT', 500, 'The response head has already been written')
    }
    this.bodyFactory =
      this.bodyFactory === undefined ? factory : chainFactories(this.bodyFactory, factory)
  }

  /**
   * Turns a recorded `respond(...)` into the final Response. A stream body the client will never
   * read (it left before the response was handed over) is cancelled, the Response built without it.
   */
  protected async writeResponse(pending: PendingResponse): Promise<void> {
    const extra = this.beforeHead(pending.status)
    const headers = new Headers(pending.headers)
    if (extra !== undefined) applyPendingHeaders(headers, extra)
    this.frame(headers)
    if (pending.body.kind === 'empty' && this.method !== 'HEAD') {
      frameEmpty(headers, pending.status)
    }
    let body: ReadableStream<Uint8Array> | null = null
    if (this.method === 'HEAD') {
      // The length the GET would have, as the node:http adapters send it.
      const b = pending.body
      if (b.kind === 'text' || b.kind === 'bytes') {
        const length =
          b.kind === 'text' ? new TextEncoder().encode(b.text).byteLength : b.bytes.byteLength
        headers.set('content-length', String(length))
      }
      cancelUnread(pending)
    } else if (this.clientLeft()) cancelUnread(pending)
    else if (pending.body.kind === 'stream') {
      // A Content-Length given with a stream is kept and held to (see `trackedStream`) on what
      // reaches the client: a body transform that reframes its output removes it (compress()),
      // one that leaves it (a pass-through, as cacheResponse's) has its output held to it.
      const declared = streamLength(headers)
      const transform = this.startTransform(headers, pending.status)
      const length =
        declared === undefined || transform === undefined ? declared : streamLength(headers)
      const gone = length === undefined ? undefined : () => this.clientLeft()
      const scope = this.bodyScope()
      if (transform === undefined) {
        body = trackedStream(pending.body.stream, this.onBodyDone, length, gone, scope)
      } else if (length === undefined) {
        body = transformed(
          trackedStream(pending.body.stream, this.onBodyDone, undefined, undefined, scope),
          transform
        )
      } else {
        // The outer stream counts the transform's output and reports how the body ended; the
        // inner one only turns the source into bytes (its failures reach the outer one).
        const source = transformed(
          trackedStream(pending.body.stream, ignoreDone, undefined, undefined, scope),
          transform
        )
        body = trackedStream(source, this.onBodyDone, length, gone)
      }
    } else {
      body = bodyFromNormalized(pending.body, headers, this.onBodyDone)
      const transform = body === null ? undefined : this.startTransform(headers, pending.status)
      if (transform !== undefined) body = transformed(body!, transform)
    }
    this.response = new Response(body, { status: pending.status, headers })
  }

  /** The request's context around each read of a streamed body (see `trackedStream`), if scoped. */
  private bodyScope(): Scope | undefined {
    if (!this.asyncContext) return undefined
    return (fn) => runWithContext(this, fn)
  }

  /**
   * Adopts the route's Response as the final one: runs `onHeaders`, adds the middleware headers
   * (the route's own header of the same name wins) and wraps the body to observe its end. The
   * Response is always rebuilt, so immutable headers (from `fetch()` or `Response.redirect`) are
   * no obstacle. A body the client will never read (it left before the route returned) is
   * cancelled.
   */
  adoptResponse(res: Response, frameworkCookies?: readonly string[]): void {
    if (this.bodyFailure !== undefined) {
      // The route answered after its body read failed (it caught the error): the body limit's
      // answer (413 / 408 / 400) is the one the client gets.
      res.body?.cancel().catch(() => {})
      this.fail(this.bodyFailure)
      return
    }
    const extra = this.beforeHead(res.status)
    if (res.status < 200) {
      // Response.error() (status 0) cannot be rebuilt; hand it on untouched.
      this.response = res
      return
    }
    const headers = new Headers(res.headers)
    if (frameworkCookies !== undefined) addFallbackCookies(headers, frameworkCookies)
    if (extra !== undefined) applyPendingHeaders(headers, extra)
    this.frame(headers)
    let body: ReadableStream<Uint8Array> | null = null
    // A HEAD's headers are the GET's: a factory sees them too (compress() adds its Vary), and a
    // transform it returns is dropped unused, there being no body.
    if (this.method === 'HEAD') this.startTransform(headers, res.status)?.abort()
    if (res.body !== null) {
      if (this.method === 'HEAD' || this.clientLeft()) res.body.cancel().catch(() => {})
      else {
        const transform = this.startTransform(headers, res.status)
        const source = transform === undefined ? res.body : transformed(res.body, transform)
        body = trackedStream(source, this.onBodyDone, undefined, undefined, this.bodyScope())
      }
    }
    this.response = new Response(body, { status: res.status, statusText: res.statusText, headers })
  }

  /**
   * For `aikitProxy`, whose route reads Next's own copy of the body, out of the kit's reach: a
   * body under a body policy (`bodyLimit()`) whose size the policy could not check up front (no
   * Content-Length: chunked; or a coding it decodes) is read here, through that policy. Resolves
   * with the failure (413 / 408 / 400) when the body broke it, else `undefined`.
   */
  async checkBodyInProxy(): Promise<AikitError | undefined> {
    const req = this.request
    const policy = this.bodyPolicy
    if (policy === undefined || this.bodyBytes !== undefined || req.body === null) return undefined
    if (req.method === 'GET' || req.method === 'HEAD') return undefined
    const codings = this.codings() ?? []
    if (codings.length === 0 && this.declaredLength() !== undefined) return undefined
    try {
      const reader = this.limited(req.body, policy.maxBytes, codings, true).getReader()
      for (;;) if ((await reader.read()).done) break
    } catch {
      // `bodyFailure` holds why.
    }
    return this.bodyFailure
  }

  /**
   * The request the route handler receives: the original, unless the body was read, headers were
   * set, or a body policy applies (`bodyLimit()`): the route then reads the body through the same
   * counting stream as `ctx.json()` (decoded size counted, idle timeout), never buffered here; a
   * read past the limit fails, and the adapter answers 413 (see `bodyFailure`).
   */
  routeRequest(): Request {
    const req = this.request
    let headers = this.requestHeaders
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    let body: BodyInit | undefined
    if (this.bodyBytes !== undefined) {
      if (hasBody) body = this.bodyBytes as Uint8Array<ArrayBuffer>
    } else if (this.bodyPolicy !== undefined && hasBody && req.body !== null) {
      // A coding not decoded (let through by `allowEncodings`) reaches the route as it came,
      // its raw size counted.
      body = this.limited(req.body, this.bodyPolicy.maxBytes, this.codings() ?? [], true)
    }
    if (body === undefined && headers === undefined) return req
    if (body !== undefined && (this.bodyDecoded || this.bodyReplaced)) {
      // The route gets the decoded (or replaced) bytes: the received coding and length no longer
      // apply.
      headers = new Headers(headers ?? req.headers)
      headers.delete('content-encoding')
      headers.delete('content-length')
    }
    const init: RequestInit & { duplex?: 'half' } = {}
    if (headers !== undefined) init.headers = headers
    if (body !== undefined) {
      init.body = body
      init.duplex = 'half'
    }
    return rebuildRequest(req, init)
  }

  /** See `ROUTE_COOKIES` (core): `withAikit` honours it, `aikitProxy` has no route cookies. */
  [ROUTE_COOKIES](): void {
    this.routeCookiesWanted = true
  }

  /** Sets a header on the request the route (or, from a proxy, the Next app) receives. */
  [SET_REQUEST_HEADER](name: string, value: string): void {
    if (this.headWritten) {
      throw new AikitError('HEADERS_SENT', 500, 'The request was already handed to the route')
    }
    if (this.requestHeaders === undefined) this.requestHeaders = new Headers(this.request.headers)
    try {
      this.requestHeaders.set(name, value)
    } catch {
      throw new AikitError('INVALID_HEADER', 500, `Invalid request header ${String(name)}`)
    }
  }

  /** Follows `request.signal`: the runtime aborts it when the client goes away. */
  watchClient(): void {
    const signal = this.request.signal
    if (signal.aborted) {
      this.markFinished(true)
      return
    }
    const listener = (): void => {
      this.markClientGone()
      this.markFinished(true)
    }
    this.abortListener = listener
    signal.addEventListener('abort', listener, { once: true })
  }

  /** Finishes a body-less response when it is handed back to Next. */
  settleIfBodyless(): void {
    if (this.response === undefined || this.response.body === null) this.markFinished(false)
  }

  override markFinished(aborted: boolean): void {
    super.markFinished(aborted)
    if (this.abortListener !== undefined) {
      this.request.signal.removeEventListener('abort', this.abortListener)
      this.abortListener = undefined
    }
  }

  /** Asks the registered factory (if any) whether to transform this body. */
  private startTransform(headers: Headers, status: number): BodyTransform | undefined {
    const factory = this.bodyFactory
    if (factory === undefined || status === 204 || status === 205 || status === 304)
      return undefined
    try {
      return factory(headView(headers, status))
    } catch (error) {
      this.fail(error)
      return undefined
    }
  }

  private readonly onBodyDone = (aborted: boolean, error?: unknown): void => {
    if (error !== undefined) this.fail(error)
    this.markFinished(aborted)
  }
}

/**
 * `req` again with `init` applied, keeping its class (NextRequest: nextUrl, cookies). Built from
 * its parts (URL, method, headers, body, signal), not `new Ctor(req, init)`: Next hands a route a
 * Proxy around its NextRequest (any route without `dynamic = 'force-dynamic'`), and Node 24's
 * `Request` reads the request it copies through private fields, which a Proxy does not have (the
 * route got a 500). A subclass whose constructor takes other arguments (on the Edge runtime Next
 * passes a `NextRequestHint`, built from `{ page, input, init }`) throws before touching the body:
 * its parent is used then.
 */
function rebuildRequest(req: Request, init: RequestInit): Request {
  const body = init.body !== undefined ? init.body : req.body
  const parts: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers: init.headers ?? req.headers,
    signal: req.signal,
  }
  if (body !== null && body !== undefined) {
    parts.body = body
    parts.duplex = 'half'
  }
  let Ctor = req.constructor as typeof Request
  for (;;) {
    try {
      return new Ctor(req.url, parts)
    } catch (error) {
      const parent = Object.getPrototypeOf(Ctor) as typeof Request | null
      if (Ctor === Request || typeof parent !== 'function' || parent === Function.prototype) {
        throw error
      }
      Ctor = parent
    }
  }
}

/**
 * Appends the `Set-Cookie` lines of `cookies` whose cookie the response does not set itself, as
 * Next merges the cookies a route handler set with `cookies().set()` into its Response (the
 * Response's own line for a name wins).
 */
function addFallbackCookies(headers: Headers, cookies: readonly string[]): void {
  const own = new Set(headers.getSetCookie().map(cookieName))
  for (const line of cookies) if (!own.has(cookieName(line))) headers.append('set-cookie', line)
}

function cookieName(line: string): string {
  const eq = line.indexOf('=')
  return (eq === -1 ? '' : line.slice(0, eq)).trim()
}

/** The end of a stream read by another tracked stream, which reports it. */
function ignoreDone(): void {}

function headView(headers: Headers, status: number): ResponseHead {
  return {
    status,
    getHeader: (name) => headers.get(name) ?? undefined,
    setHeader: (name, value) => headers.set(name, value),
    removeHeader: (name) => headers.delete(name),
  }
}

/**
 * The route's body piped through `transform`, pulled chunk by chunk: each chunk's output is
 * handed on as soon as the transform returns it (an SSE event is not held back). Cancelling it
 * aborts the transform and cancels the route's body.
 */
function transformed(
  source: ReadableStream<Uint8Array>,
  transform: BodyTransform
): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  let done = false
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown): void => {
    done = true
    transform.abort()
    reader.cancel(error).catch(() => {})
    controller.error(error)
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (!done) {
          let out: Uint8Array
          try {
            const r = await reader.read()
            if (r.done) {
              done = true
              out = await transform.end()
            } else out = await transform.write(r.value)
          } catch (error) {
            fail(controller, error)
            return
          }
          if (out.byteLength > 0) {
            controller.enqueue(out)
            if (!done) return
          }
        }
        controller.close()
      },
      cancel(reason) {
        if (done) return
        done = true
        transform.abort()
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 }
  )
}

/**
 * Frames an empty `respond` body as empty whatever Content-Length was given (see the Node
 * adapters' `frameEmpty`): `0`; a given one kept for a 204 and a 304. HEAD is not passed here.
 */
function frameEmpty(headers: Headers, status: number): void {
  if (status !== 204 && status !== 304) headers.set('content-length', '0')
}

/** The byte count of a stream's Content-Length; one that is not a count is dropped (chunked). */
function streamLength(headers: Headers): number | undefined {
  const value = headers.get('content-length')
  if (value === null) return undefined
  const length = byteCount(value)
  if (length === undefined) headers.delete('content-length')
  return length
}

function cancelUnread(pending: PendingResponse): void {
  if (pending.body.kind !== 'stream') return
  const s = pending.body.stream
  if (typeof (s as ReadableStream).cancel === 'function') {
    ;(s as ReadableStream).cancel().catch(() => {})
  } else {
    ;(s as AsyncIterable<unknown>)
      [Symbol.asyncIterator]()
      .return?.()
      ?.catch(() => {})
  }
}

/**
 * A `Content-Length` value as a byte count (undefined when absent). The Web `Headers` join repeated
 * fields with ", ": a list of one value repeated is that value (RFC 9110 §8.6 lets a recipient fold
 * it); differing values or anything but decimal digits are `'invalid'` (RFC 9112 §6.3: the server
 * must answer 400). A value past 2^53 stays a number: no body reaches it, so one that ends is short.
 */
function declaredLength(header: string | null): number | 'invalid' | undefined {
  if (header === null) return undefined
  let length: number | undefined
  for (const part of header.split(',')) {
    const value = part.trim()
    if (!/^\d+$/.test(value)) return 'invalid'
    const n = Number(value)
    if (length !== undefined && n !== length) return 'invalid'
    length = n
  }
  return length
}
