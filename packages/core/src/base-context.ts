/**
 * @module base-context
 * The framework-independent half of every adapter's Context: state, pending headers, the
 * `onHeaders` → head → finished lifecycle, the abort signal and the once-only JSON body.
 * An adapter subclasses it and supplies the request accessors and how a response is written.
 * Everything costly (signal, finished promise, IP, body) is created on first use.
 */
import { type ResolvedAdapterOptions, scopesRequests } from './adapter-options.js'
import { AikitError, isAikitError } from './errors.js'
import { isFramingHeader } from './framing-headers.js'
import { COOKIE_SEPARATOR } from './header-merge.js'
import { assertJsonContentType, parseJsonBody } from './json-body.js'
import { LIFECYCLE, type Lifecycle } from './lifecycle.js'
import { BODY_POLICY, type BodyPolicy, REPLACE_BODY } from './request-body.js'
import { cancelBody, errorResponse, type PendingResponse, toPendingResponse } from './response.js'
import type { AikitState, BodyLimits, Context, FinishInfo, ResponseBody } from './types.js'

// What Node's `res.setHeader` (and the Web `Headers`) accept: a name that is an HTTP token, a value
// of tab, visible ASCII and Latin-1 only. Refused here, where the middleware can see the error:
// refused later by the framework, while the head is being written, it would leave the request
// with no response at all.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const INVALID_VALUE_CHARS = /[^\t\x20-\x7e\x80-\xff]/

function assertHeader(name: string, value: string): void {
  if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
    throw new AikitError('INVALID_HEADER', 500, 'Invalid response header name')
  }
  if (typeof value !== 'string' || INVALID_VALUE_CHARS.test(value)) {
    throw new AikitError('INVALID_HEADER', 500, `Invalid value for response header ${name}`)
  }
}

function isClose(value: string): boolean {
  return value.trim().toLowerCase() === 'close'
}

/** Rounds of hooks registered by hooks that `beforeHead` runs (see there). */
const MAX_HOOK_ROUNDS = 16

function headersSentError(): AikitError {
  return new AikitError('HEADERS_SENT', 500, 'The response head has already been written')
}

export abstract class BaseContext implements Context, Lifecycle {
  error: unknown = undefined
  private stateObject: AikitState | undefined = undefined
  /** The status the head was written with (or is being written with, inside `onHeaders`). */
  protected finalStatus: number | undefined = undefined
  /** Headers set by middleware, lower-case name → [name, value]. */
  protected pendingHeaders: Map<string, [string, string]> | undefined = undefined
  /** A response recorded by `respond`, not yet written. */
  protected pendingResponse: PendingResponse | undefined = undefined
  protected headWritten = false
  private headerHooks: (() => void)[] | undefined = undefined
  /** The hooks `beforeHead` ran first (see `headFailed`). */
  private ranHeaderHooks: (() => void)[] | undefined = undefined
  private committing: Promise<void> | undefined = undefined
  private controller: AbortController | undefined = undefined
  private clientGone = false
  private finishInfo: FinishInfo | undefined = undefined
  private finishedPromise: Promise<FinishInfo> | undefined = undefined
  private resolveFinished: ((info: FinishInfo) => void) | undefined = undefined
  private finishListeners: ((info: FinishInfo) => void)[] | undefined = undefined
  private bodyPromise: Promise<unknown> | undefined = undefined
  private resolvedIp: string | undefined | null = null
  protected readonly options: ResolvedAdapterOptions
  /** The body policy a middleware set with `ctx[BODY_POLICY](...)` (security's `bodyLimit()`). */
  protected bodyPolicy: BodyPolicy | undefined = undefined

  constructor(options: ResolvedAdapterOptions) {
    this.options = options
  }

  abstract readonly method: string
  abstract readonly path: string
  abstract readonly query: string
  abstract header(name: string): string | undefined
  /** The socket's remote address, before proxy resolution. */
  protected abstract remoteAddress(): string | undefined
  /** Reads the raw body; rejects with `PayloadTooLargeError` past `maxBytes`. Called at most once. */
  protected abstract readBody(maxBytes: number): Promise<Uint8Array>
  /** Writes a recorded response (head, then body in the background); resolves when the head is written. */
  protected abstract writeResponse(response: PendingResponse): Promise<void>

  /**
   * Makes the adapter enforce `policy` on every read of this request's body (see `BodyPolicy`).
   * The last call wins; an adapter applies it to the reads that start afterwards.
   */
  [BODY_POLICY](policy: BodyPolicy): void {
    this.bodyPolicy = policy
    this.onBodyPolicy(policy)
  }

  /** Lets an adapter start enforcing a body policy at once (e.g. on the native request). */
  protected onBodyPolicy(_policy: BodyPolicy): void {}

  /**
   * Makes `value` the body from now on (see `REPLACE_BODY`): later `ctx.json()` calls resolve to
   * it, and the adapter hands `bytes` (its JSON text) to the route's own reads.
   */
  [REPLACE_BODY](value: unknown, bytes: Uint8Array): void {
    this.bodyPromise = Promise.resolve(value)
    this.onBodyReplaced(value, bytes)
  }

  /** Lets an adapter hand a replaced body to the route (see `REPLACE_BODY`). */
  protected onBodyReplaced(_value: unknown, _bytes: Uint8Array): void {}

  get [LIFECYCLE](): Lifecycle {
    return this
  }

  get state(): AikitState {
    if (this.stateObject === undefined) this.stateObject = {}
    return this.stateObject
  }

  /** Whether requests run inside the AsyncLocalStorage scope (`currentContext()`). */
  get asyncContext(): boolean {
    return scopesRequests(this.options)
  }

  /**
   * Called once, the first time `finished` or `signal` is read: adapters that learn about the end
   * of the response from events can start listening only when someone cares.
   */
  protected watchLifecycle(): void {}

  get ip(): string | undefined {
    if (this.resolvedIp === null) {
      this.resolvedIp = this.options.resolveIp(this.remoteAddress(), this.header('x-forwarded-for'))
    }
    return this.resolvedIp
  }

  json<T = unknown>(limits?: BodyLimits): Promise<T> {
    if (this.bodyPromise === undefined) {
      const maxBytes = limits?.maxBytes ?? this.options.maxBodyBytes
      const maxDepth = limits?.maxDepth ?? this.options.maxJsonDepth
      const maxKeys = limits?.maxKeys ?? this.options.maxJsonKeys
      this.bodyPromise = (async () => {
        assertJsonContentType(this.header('content-type'))
        return parseJsonBody(await this.readBody(maxBytes), maxDepth, { maxKeys })
      })()
    }
    return this.bodyPromise as Promise<T>
  }

  setHeader(name: string, value: string): void {
    if (this.headWritten) throw headersSentError()
    assertHeader(name, value)
    const lower = name.toLowerCase()
    // `Connection: close` asks the server to close the connection after this response (a drain
    // before shutdown): Node honours it whatever the framing, as `respond` keeps it.
    if (isFramingHeader(lower) && !(lower === 'connection' && isClose(value))) {
      throw new AikitError(
        'INVALID_HEADER',
        500,
        `Response header ${name} cannot be set: the adapter frames the response`
      )
    }
    if (this.pendingHeaders === undefined) this.pendingHeaders = new Map()
    this.pendingHeaders.set(lower, [name, value])
  }

  appendHeader(name: string, value: string): void {
    const lower = typeof name === 'string' ? name.toLowerCase() : ''
    const existing = this.pendingHeaders?.get(lower)
    if (existing === undefined) {
      this.setHeader(name, value)
      return
    }
    if (this.headWritten) throw headersSentError()
    assertHeader(name, value)
    // A pending framing header can only be `Connection: close` (see `setHeader`): the joined value
    // is held to the same rule (nothing can be added to it but another `close`, which changes
    // nothing).
    if (isFramingHeader(lower)) {
      if (lower === 'connection' && isClose(value)) return
      throw new AikitError(
        'INVALID_HEADER',
        500,
        `Response header ${name} cannot be set: the adapter frames the response`
      )
    }
    // Cookies stay separate lines; other list headers join with a comma.
    const joined =
      lower === 'set-cookie'
        ? `${existing[1]}${COOKIE_SEPARATOR}${value}`
        : `${existing[1]}, ${value}`
    this.pendingHeaders?.set(lower, [name, joined])
  }

  /**
   * Records the response (see `Context.respond`). A pending one it replaces is dropped: its stream
   * body, which nobody will read, is cancelled (unless it is the new one's).
   */
  respond(status: number, body?: ResponseBody, headers?: Record<string, string>): void {
    if (this.headWritten) throw headersSentError()
    if (headers) for (const k in headers) assertHeader(k, headers[k]!)
    const replaced = this.pendingResponse
    const pending = toPendingResponse(status, body, headers)
    this.pendingResponse = pending
    if (replaced !== undefined) dropReplaced(replaced, pending)
  }

  get status(): number | undefined {
    return this.finalStatus ?? this.pendingResponse?.status
  }

  get headersSent(): boolean {
    return this.headWritten
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.finishedPromise === undefined) this.watchLifecycle()
      if (this.clientGone) this.controller.abort(clientGoneReason())
    }
    return this.controller.signal
  }

  onHeaders(fn: () => void): void {
    if (typeof fn !== 'function') throw new TypeError('onHeaders expects a function')
    if (this.headWritten) throw headersSentError()
    if (this.headerHooks === undefined) this.headerHooks = []
    this.headerHooks.push(fn)
  }

  get finished(): Promise<FinishInfo> {
    if (this.finishedPromise === undefined) {
      if (this.controller === undefined) this.watchLifecycle()
      if (this.finishInfo !== undefined) {
        this.finishedPromise = Promise.resolve(this.finishInfo)
      } else {
        this.finishedPromise = new Promise((resolve) => {
          this.resolveFinished = resolve
        })
      }
    }
    return this.finishedPromise
  }

  /**
   * Calls `fn` once, when `finished` would resolve, without a promise per listener (see
   * `onFinished`): in the same tick the adapter learns that the response ended, or in a microtask
   * when it already has. A listener that throws goes to the adapter's `onError`.
   */
  onFinish(fn: (info: FinishInfo) => void): void {
    const listeners = this.finishListeners
    if (listeners !== undefined) {
      listeners.push(fn)
      return
    }
    // The first observer: the adapter may only now start watching (and find the end already there).
    if (this.finishedPromise === undefined && this.controller === undefined) this.watchLifecycle()
    const info = this.finishInfo
    if (info !== undefined) {
      queueMicrotask(() => this.callFinishListener(fn, info))
      return
    }
    this.finishListeners = [fn]
  }

  private callFinishListener(fn: (info: FinishInfo) => void, info: FinishInfo): void {
    try {
      fn(info)
    } catch (error) {
      this.reportError(error)
    }
  }

  /** True when `respond` was called and the head is not written yet. */
  get hasPendingResponse(): boolean {
    return this.pendingResponse !== undefined
  }

  // ---- called by adapters -------------------------------------------------------------

  /**
   * Call right before the head is written, with the final status. Runs the `onHeaders` hooks
   * (they may still set headers) and returns the middleware headers to add. Later calls return
   * undefined. Hooks run in reverse order of registration, like Koa's and on-headers'.
   */
  beforeHead(status: number): Iterable<[string, string]> | undefined {
    if (this.headWritten) return undefined
    this.finalStatus = status
    // A hook may register another (the head is not written yet): run until none is left, for a
    // few rounds at most (a hook that always registers one more would never let the head out).
    let hooks = this.headerHooks
    this.ranHeaderHooks = hooks
    for (let round = 0; hooks !== undefined; round++) {
      this.headerHooks = undefined
      if (round === MAX_HOOK_ROUNDS) {
        this.reportError(
          new AikitError('HOOK_LOOP', 500, 'onHeaders hooks kept registering more hooks')
        )
        break
      }
      for (let i = hooks.length - 1; i >= 0; i--) {
        try {
          hooks[i]!()
        } catch (error) {
          this.reportError(error)
        }
      }
      hooks = this.headerHooks
    }
    this.headWritten = true
    return this.pendingHeaders?.values()
  }

  /**
   * Call when the head `beforeHead` was called for was not written after all: `writeHead` threw
   * before anything went out (a hook below the adapter's failed, or Node refused something the
   * adapter does not check in advance). The Context is as before the head, so the next head (the
   * framework's error response) runs the `onHeaders` hooks again, with its own status, and gets
   * the middleware headers; `status` is not the refused one. Hooks registered by hooks register
   * again when their hook runs again.
   */
  headFailed(): void {
    if (!this.headWritten) return
    this.headWritten = false
    this.finalStatus = undefined
    this.headerHooks = this.ranHeaderHooks
    this.ranHeaderHooks = undefined
  }

  /** Call when the client went away (before the body was fully sent). Aborts `signal`. */
  markClientGone(): void {
    if (this.clientGone) return
    this.clientGone = true
    this.controller?.abort(clientGoneReason())
  }

  /** Call once when the response is complete or abandoned. Resolves `finished`. */
  markFinished(aborted: boolean): void {
    if (this.finishInfo !== undefined) return
    if (aborted) this.markClientGone()
    const info: FinishInfo = { aborted }
    this.finishInfo = info
    this.resolveFinished?.(info)
    const listeners = this.finishListeners
    if (listeners !== undefined) {
      this.finishListeners = undefined
      for (let i = 0; i < listeners.length; i++) this.callFinishListener(listeners[i]!, info)
    }
  }

  /**
   * Records an error; before the head it replaces any pending response with the error response
   * (a pending stream body is cancelled).
   */
  fail(error: unknown): void {
    if (this.error === undefined) this.error = error
    if (!isAikitError(error) || this.headWritten) this.reportError(error)
    if (!this.headWritten) {
      const replaced = this.pendingResponse
      const pending = errorResponse(error)
      this.pendingResponse = pending
      if (replaced !== undefined) dropReplaced(replaced, pending)
    }
  }

  /** Writes a pending response's head (once); resolves when written. */
  commit(): Promise<void> | undefined {
    if (this.headWritten || this.pendingResponse === undefined) return this.committing
    if (this.committing === undefined) {
      this.committing = this.writeResponse(this.pendingResponse).catch((error: unknown) => {
        this.reportError(error)
      })
    }
    return this.committing
  }

  /** Hands an error to the adapter's `onError` (which must not throw into the request). */
  reportError(error: unknown): void {
    const onError = this.options.onError
    if (onError === undefined) return
    try {
      onError(error, this)
    } catch {
      // A failing reporter must not break the response.
    }
  }
}

/**
 * A stream handed to `respond` belongs to the kit from then on (the adapter cancels it when the
 * client leaves): replaced before it was written, it is released here, or an upstream (an LLM
 * stream and its provider connection) stays open.
 */
function dropReplaced(replaced: PendingResponse, by: PendingResponse): void {
  const body = replaced.body
  if (body.kind !== 'stream') return
  if (by.body.kind === 'stream' && by.body.stream === body.stream) return
  cancelBody(body)
}

function clientGoneReason(): Error {
  const e = new Error('The client closed the connection')
  e.name = 'AbortError'
  return e
}
