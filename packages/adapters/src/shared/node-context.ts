/**
 * @module shared/node-context
 * The Context engine over Node's `IncomingMessage` / `ServerResponse`, shared by the node:http,
 * Express and Fastify adapters. Everything is read lazily from the native objects: no Web
 * `Request` is built and the URL is split with `indexOf`, not `new URL`.
 *
 * The head is hooked the way `on-headers` does it: `res.writeHead` is replaced on this response
 * object only. Node's implicit head (`res.write` / `res.end` without `writeHead`) goes through
 * `ServerResponse.prototype._implicitHeader`, which calls `this.writeHead(this.statusCode)`, so
 * the hook sees every head, whoever writes it (the route, Express' finalhandler, Fastify's reply).
 *
 * `ctx.transformBody` (compression of the bodies the framework writes) patches `res.write` and
 * `res.end` on this response object only, as the `compression` package does, and only once a
 * middleware registers a transform: a request without one runs Node's own methods untouched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable, Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate, type Zlib } from 'node:zlib'
import { AikitError, type FinishInfo, InvalidRequestError, PayloadTooLargeError } from '@aikit/core'
import {
  BaseContext,
  type BodyCoding,
  type BodyPolicy,
  type BodyTransform,
  type BodyTransformFactory,
  combineHeader,
  DEFAULT_BODY_TIMEOUT_MS,
  type PendingResponse,
  parseContentEncoding,
  type ResolvedAdapterOptions,
  type ResponseHead,
  TARGET_AUTHORITY,
  unsupportedEncodingError,
} from '@aikit/core/adapter'
import { chainFactories } from './chain-transforms.js'
import { byteCount, lengthMismatch } from './content-length.js'
import { sendContinue } from './expect-continue.js'
import { NodeBodyGuard } from './node-body-guard.js'
import { dropBody, pump, type StreamBody } from './pump.js'
import { offSocketClose, onSocketClose } from './queued-close.js'

/** A header list a middleware put straight on the native response (see `noteNativeHeaders`). */
export interface NativeHeaderList {
  /** The names in lower case. */
  readonly lowerNames: readonly string[]
  /** `values[i]` is what was set for `lowerNames[i]`. */
  readonly values: readonly string[]
}

/**
 * Header values middleware put straight on the native response (see `noteNativeHeaders`), flat:
 * a list, or a single header as two strings (lower-case name, value). One array per request.
 */
type NativeHeaders = (NativeHeaderList | string)[]

/**
 * Whether `current` is a value a middleware put on the native response for `lower` (rather than
 * the route's own: the route may still have set the same text, which changes nothing).
 */
function isNativeValue(
  native: NativeHeaders | undefined,
  lower: string,
  current: string | number | readonly string[] | undefined
): boolean {
  if (native === undefined || typeof current !== 'string') return false
  for (let i = 0; i < native.length; i++) {
    const entry: NativeHeaderList | string = native[i]!
    if (typeof entry === 'string') {
      if (entry === lower && native[i + 1] === current) return true
      i++
      continue
    }
    const at = entry.lowerNames.indexOf(lower)
    if (at !== -1 && entry.values[at] === current) return true
  }
  return false
}

/**
 * Adds the middleware's headers at the head: the route's own header of the same name wins (one it
 * set on the response, or one passed to `writeHead` itself, as Fastify does), except `Vary` and
 * `Set-Cookie`, which are merged (see core's `combineHeader`).
 *
 * A value still as a middleware put it on the native response (`native`: `securityHeaders()`'s
 * fast path) is not the route's: a later `ctx.setHeader` of that name replaces it, as it replaces
 * an earlier middleware's pending header (the Web path, Next). A value the route changed since
 * is the route's own again and wins.
 *
 * When `writeHead` was given a headers object (Fastify always passes one), a header the route has
 * not set goes into that object rather than through `res.setHeader`: a response with no
 * `setHeader` call stays on Node's fast `writeHead(status, headers)` path, which serialises the
 * object directly instead of copying every entry into the response's header map first. The
 * route's own object is never written into: it is copied first (see `writableHeadHeaders`).
 */
function applyPendingHeaders(
  ctx: NodeContext,
  res: ServerResponse,
  args: unknown[],
  headers: Iterable<[string, string]>,
  native: NativeHeaders | undefined
): void {
  const at = headersIndex(args)
  if (at !== -1 && Array.isArray(args[at])) {
    applyToRawHeaders(res, args, at, headers, native)
    return
  }
  const passed = at === -1 ? undefined : (args[at] as Record<string, unknown>)
  const mixedCase = passed === undefined ? undefined : mixedCaseKeys(passed)
  // `passed` once the kit may write into it (this response's own object, or a copy of it).
  let target: Record<string, unknown> | undefined
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    const onRes = res.getHeader(lower) as string | string[] | undefined
    if (passed !== undefined) {
      const passedKey = Object.hasOwn(passed, lower) ? lower : mixedCase?.get(lower)
      if (passedKey !== undefined) {
        const current = passed[passedKey] as string | string[]
        const route = isNativeValue(native, lower, current) ? undefined : current
        const merged = combineHeader(lower, route, value)
        if (merged !== undefined) {
          target ??= ctx.writableHeadHeaders(args, at)
          target[passedKey] = merged
        }
        continue
      }
      if (onRes === undefined) {
        target ??= ctx.writableHeadHeaders(args, at)
        target[lower] = combineHeader(lower, undefined, value)
        continue
      }
    }
    const route = isNativeValue(native, lower, onRes) ? undefined : onRes
    const merged = combineHeader(lower, route, value)
    if (merged !== undefined) res.setHeader(name, merged)
  }
}

/**
 * `applyPendingHeaders` for a raw header array given to `writeHead` (`[name, value, ...]`, or
 * `[[name, value], ...]`). Node sets each name of the array over what the response holds, so a
 * middleware's `Set-Cookie` or `Vary` set on the response would be dropped when the array names
 * it: those are merged with the array's values into one entry (the array's other names stay the
 * route's). The other middleware headers are added as entries too, combined with the response's
 * value as for an object. All of it goes into a copy of the array (the route's may be shared),
 * which replaces it in `args`.
 */
function applyToRawHeaders(
  res: ServerResponse,
  args: unknown[],
  at: number,
  headers: Iterable<[string, string]>,
  native: NativeHeaders | undefined
): void {
  const raw = args[at] as unknown[]
  const nested = Array.isArray(raw[0])
  let copy: unknown[] | undefined
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    const own = rawValues(raw, nested, lower)
    let merged: string | string[] | undefined
    if (own !== undefined) {
      if (lower !== 'set-cookie' && lower !== 'vary') continue
      merged = combineHeader(lower, own, value)!
      copy = withoutRaw(copy ?? raw, nested, lower)
    } else {
      const onRes = res.getHeader(lower) as string | string[] | undefined
      merged = combineHeader(lower, isNativeValue(native, lower, onRes) ? undefined : onRes, value)
      if (merged === undefined) continue
      copy ??= raw.slice()
    }
    if (nested) copy.push([name, merged])
    else copy.push(name, merged)
  }
  if (copy !== undefined) args[at] = copy
}

/** The values a raw header array gives for `lower` (undefined when it has none). */
function rawValues(raw: unknown[], nested: boolean, lower: string): string[] | undefined {
  let values: string[] | undefined
  const step = nested ? 1 : 2
  for (let i = 0; i < raw.length; i += step) {
    const name = nested ? (raw[i] as unknown[] | undefined)?.[0] : raw[i]
    if (typeof name !== 'string' || name.toLowerCase() !== lower) continue
    const value = nested ? (raw[i] as unknown[])[1] : raw[i + 1]
    values ??= []
    if (Array.isArray(value)) for (const v of value) values.push(String(v))
    else values.push(String(value))
  }
  return values
}

/** A copy of a raw header array without its entries for `lower`. */
function withoutRaw(raw: unknown[], nested: boolean, lower: string): unknown[] {
  const out: unknown[] = []
  const step = nested ? 1 : 2
  for (let i = 0; i < raw.length; i += step) {
    const name = nested ? (raw[i] as unknown[] | undefined)?.[0] : raw[i]
    if (typeof name === 'string' && name.toLowerCase() === lower) continue
    if (nested) out.push(raw[i])
    else out.push(raw[i], raw[i + 1])
  }
  return out
}

/** lower-case name → key, for the keys of `headers` that are not lower-case (usually none). */
function mixedCaseKeys(headers: Record<string, unknown>): Map<string, string> | undefined {
  let map: Map<string, string> | undefined
  for (const key in headers) {
    const lower = key.toLowerCase()
    if (lower === key) continue
    map ??= new Map()
    map.set(lower, key)
  }
  return map
}

/**
 * Where the headers of `writeHead(status[, message][, headers])` are in `args`, as Node reads
 * them (after a message; else the third argument when given, else the second): the index of an
 * object or raw array, or -1.
 */
function headersIndex(args: unknown[]): number {
  const at = typeof args[1] === 'string' || (args[2] !== undefined && args[2] !== null) ? 2 : 1
  const headers = args[at]
  return typeof headers === 'object' && headers !== null ? at : -1
}

// What Node's `writeHead` accepts in a status message (its `checkInvalidHeaderChar`).
const INVALID_VALUE_CHARS = /[^\t\x20-\x7e\x80-\xff]/

/**
 * True when Node's `writeHead` will throw for these arguments before anything is written, as far
 * as a check costing nothing per request tells: a status outside 100-999 (after Node's `| 0`), a
 * status message given to it that Node refuses. The kit then prepares nothing (no `onHeaders`, no
 * middleware headers): the throw reaches the route as without the kit, and the next head (the
 * framework's error response) is the one the middleware see. The headers are not checked here:
 * that would validate every name and value of every response a second time (Node does it), for a
 * route bug (a filename with a newline in `Content-Disposition`); such a head is undone after
 * Node throws (see `NodeContext.headFailed`), its `onHeaders` hooks having run once more.
 */
function headRefused(args: unknown[]): boolean {
  const status = (args[0] as number) | 0
  if (status < 100 || status > 999) return true
  return typeof args[1] === 'string' && INVALID_VALUE_CHARS.test(args[1])
}

function findKey(headers: Record<string, unknown>, lower: string): string | undefined {
  if (Object.hasOwn(headers, lower)) return lower
  for (const key of Object.keys(headers)) if (key.toLowerCase() === lower) return key
  return undefined
}

/**
 * The response head over `res` plus the headers object given to `writeHead` (`args`), which
 * wins. A change to that object is made on the kit's copy of it (see `writableHeadHeaders`).
 */
function headView(
  ctx: NodeContext,
  res: ServerResponse,
  args: unknown[],
  status: number
): ResponseHead {
  const at = headersIndex(args)
  const passed = (): Record<string, unknown> | undefined =>
    at === -1 ? undefined : (args[at] as Record<string, unknown>)
  return {
    status,
    getHeader(name) {
      const headers = passed()
      const key = headers === undefined ? undefined : findKey(headers, name.toLowerCase())
      const value = key === undefined ? res.getHeader(name) : headers![key]
      if (value === undefined || value === null) return undefined
      return Array.isArray(value) ? value.join(', ') : String(value)
    },
    setHeader(name, value) {
      const headers = passed()
      const key = headers === undefined ? undefined : findKey(headers, name.toLowerCase())
      if (key !== undefined) ctx.writableHeadHeaders(args, at)[key] = value
      else res.setHeader(name, value)
    },
    removeHeader(name) {
      const headers = passed()
      const key = headers === undefined ? undefined : findKey(headers, name.toLowerCase())
      if (key !== undefined) delete ctx.writableHeadHeaders(args, at)[key]
      res.removeHeader(name)
    },
  }
}

type Callback = (error?: Error | null) => void

/** Node's error for a write after `end()` (`ERR_STREAM_WRITE_AFTER_END`). */
function writeAfterEnd(): Error {
  return Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' })
}

/** Node's error for a write or end on a destroyed stream (`ERR_STREAM_DESTROYED`). */
function streamDestroyed(method: 'write' | 'end'): Error {
  return Object.assign(new Error(`Cannot call ${method} after a stream was destroyed`), {
    code: 'ERR_STREAM_DESTROYED',
  })
}
interface NativeWrites {
  write: WriteFn
  end: EndFn
}
type WriteFn = (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean
type EndFn = (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) => unknown

function toBytes(chunk: unknown, encoding: unknown): Uint8Array {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  }
  if (chunk instanceof Uint8Array) return chunk
  throw new TypeError('The response chunk must be a string, Buffer or Uint8Array')
}

function callbackOf(value: unknown): Callback | undefined {
  return typeof value === 'function' ? (value as Callback) : undefined
}

function hasData(chunk: unknown): boolean {
  return chunk !== undefined && chunk !== null && typeof chunk !== 'function'
}

/**
 * Replaces `res.write` / `res.end` on this response: before the head they let the head hook decide
 * (with the body's length when `end` carries the whole body, as Node would send it); after it,
 * with a transform active, the bytes go through it, else to Node's own methods.
 */
function patchBodyWrites(
  res: ServerResponse,
  active: () => TransformedBody | undefined,
  ctx: NodeContext
): NativeWrites {
  const write = res.write as unknown as WriteFn
  const end = res.end as unknown as EndFn
  const target = res as unknown as { write: WriteFn; end: EndFn }
  target.write = function patchedWrite(chunk, encoding, cb) {
    if (!this.headersSent && !this.destroyed) this.writeHead(this.statusCode)
    const body = active()
    if (body === undefined) return write.call(this, chunk, encoding, cb)
    const callback = callbackOf(typeof encoding === 'function' ? encoding : cb)
    return body.write(toBytes(chunk, encoding), callback)
  }
  target.end = function patchedEnd(chunk, encoding, cb) {
    if (!this.headersSent && !this.destroyed) {
      const status = this.statusCode
      if (!hasData(chunk)) ctx.noteEmptyBody()
      else if (
        status !== 204 &&
        status !== 304 &&
        ctx.method !== 'HEAD' &&
        !this.hasHeader('content-length') &&
        !this.hasHeader('transfer-encoding')
      ) {
        // What Node itself would send for a body given whole to end(); the hook needs it to apply
        // the threshold.
        this.setHeader('Content-Length', toBytes(chunk, encoding).byteLength)
      }
      this.writeHead(this.statusCode)
    }
    const body = active()
    if (body === undefined) return end.call(this, chunk, encoding, cb)
    const callback = callbackOf(
      typeof chunk === 'function' ? chunk : typeof encoding === 'function' ? encoding : cb
    )
    body.end(hasData(chunk) ? toBytes(chunk, encoding) : undefined, callback)
    return this
  }
  return { write, end }
}

/**
 * Feeds the bytes the route writes through a transform and writes its output with Node's own
 * `write` / `end`, in order. A write returns false while the transform is busy or the socket is
 * full; 'drain' is emitted once both are clear (Node emits it itself when the socket was full).
 *
 * Once the output is dropped (client gone, response destroyed, body failed), every write / end
 * callback not yet handed to Node, and every later one, is called once with
 * `ERR_STREAM_DESTROYED` on a later tick, as Node answers a write on a destroyed response: a route
 * awaiting a promisified write (or a pipeline into `res`) must not wait forever.
 */
class TransformedBody {
  private tail: Promise<void> | undefined = undefined
  private needDrain = false
  private ended = false
  /** The output is dropped: the body failed or the response is gone (see `drop`). */
  private failed = false
  /** The callbacks of the writes (then the end) still in the transform, oldest first. */
  private waiting: (Callback | undefined)[] = []
  /** The Content-Length the output is held to (see `holdTo`), and the bytes of it left. */
  private length: number | undefined = undefined
  private left = 0

  constructor(
    private readonly res: ServerResponse,
    private readonly transform: BodyTransform,
    private readonly native: NativeWrites,
    private readonly ctx: {
      fail(error: unknown): void
      onFinish(fn: (info: FinishInfo) => void): void
    }
  ) {
    // The Context's end, not the response's 'close': a pipelined response still queued when the
    // client leaves never closes (see `NodeContext.watchLifecycle`).
    ctx.onFinish((info) => {
      if (info.aborted) {
        transform.abort()
        this.drop()
      }
    })
  }

  /**
   * Holds what reaches the wire to `length`, the Content-Length the head still declares after the
   * transform started (a pass-through transform leaves the one given with a `respond` stream): as
   * the pump holds a stream written without a transform, output that would run past it is not
   * written, and an end short of it does not end the response; either way the response is
   * destroyed and `CONTENT_LENGTH_MISMATCH` reported.
   */
  holdTo(length: number): void {
    this.length = length
    this.left = length
  }

  /** Counts `out` against the held length; false (after failing the response) if it misframes. */
  private fits(out: Uint8Array, last: boolean): boolean {
    const length = this.length
    if (length === undefined) return true
    if (out.byteLength > this.left) {
      this.fault(lengthMismatch(length, 'runs past'))
      return false
    }
    this.left -= out.byteLength
    if (last && this.left > 0) {
      this.fault(lengthMismatch(length, 'ended short of'))
      return false
    }
    return true
  }

  write(bytes: Uint8Array, cb: Callback | undefined): boolean {
    if (this.ended) {
      // As Node answers a write after `end()` (the native one cannot be called: the transformed
      // end may still be on its way), so code awaiting the callback does not wait forever.
      if (cb !== undefined) process.nextTick(cb, writeAfterEnd())
      return false
    }
    if (this.failed || this.res.destroyed) {
      // As Node answers a write on a destroyed response; the callbacks still waiting go first.
      this.drop()
      if (cb !== undefined) process.nextTick(cb, streamDestroyed('write'))
      return false
    }
    if (bytes.byteLength === 0) {
      // Nothing for the transform; the callback still queues behind the earlier writes (see `run`).
      if (cb !== undefined) this.run(emptyStep, false, cb)
      return this.tail === undefined && !this.res.writableNeedDrain
    }
    this.run(() => this.transform.write(bytes), false, cb)
    const ok = this.tail === undefined && !this.res.writableNeedDrain
    if (!ok) this.needDrain = true
    return ok
  }

  end(last: Uint8Array | undefined, cb: Callback | undefined): void {
    if (this.failed || this.res.destroyed) {
      this.drop()
      // As Node's `end()` on a destroyed response: a later write is one after end.
      this.ended = true
      if (cb !== undefined) process.nextTick(cb, streamDestroyed('end'))
      return
    }
    if (this.ended) {
      if (cb !== undefined) this.endAgain(last !== undefined && last.byteLength > 0, cb)
      return
    }
    this.ended = true
    this.run(() => this.transform.end(last), true, cb)
  }

  /**
   * A second `end(cb)`, answered as Node answers one: with data, `ERR_STREAM_WRITE_AFTER_END` on a
   * later tick (as a write after end); without, `cb` runs with the first end's (on 'finish', or
   * with `ERR_STREAM_DESTROYED` if the output is dropped), or, once that end was handed to Node,
   * Node's own `end` answers (on 'finish', else `ERR_STREAM_ALREADY_FINISHED`).
   */
  private endAgain(data: boolean, cb: Callback): void {
    if (data) {
      process.nextTick(cb, writeAfterEnd())
      return
    }
    const waiting = this.waiting
    const n = waiting.length
    if (n === 0) {
      this.native.end.call(this.res, undefined, undefined, cb)
      return
    }
    // The end is the last one waiting: nothing is queued after it.
    const first = waiting[n - 1]
    waiting[n - 1] =
      first === undefined
        ? cb
        : (error?: Error | null) => {
            first(error)
            cb(error)
          }
  }

  /**
   * Runs `step` after the previous ones (a synchronous result is written at once), then writes
   * its output with `cb`, with Node's `end` when `last`. A `cb` whose output is empty still goes
   * to Node's `write` (an empty one): Node calls it after the earlier writes', never inside
   * `res.write()`.
   */
  private run(
    step: () => Uint8Array | Promise<Uint8Array>,
    last: boolean,
    cb: Callback | undefined
  ): void {
    // Until it is handed to Node, `cb` waits here: `drop` calls it if the output never goes out.
    this.waiting.push(cb)
    const deliver = (out: Uint8Array): void => {
      if (this.res.destroyed || this.failed || !this.fits(out, last)) {
        this.drop()
        return
      }
      const callback = this.waiting.shift()
      if (last) this.native.end.call(this.res, out.byteLength > 0 ? out : undefined, callback)
      else if (out.byteLength > 0 || callback !== undefined) {
        this.native.write.call(this.res, out, callback)
      }
    }
    if (this.tail === undefined) {
      let result: Uint8Array | Promise<Uint8Array>
      try {
        result = step()
      } catch (error) {
        this.fault(error)
        return
      }
      if (!(result instanceof Promise)) {
        deliver(result)
        return
      }
      this.settle(result.then(deliver))
      return
    }
    this.settle(this.tail.then(() => (this.failed ? EMPTY : step())).then(deliver))
  }

  /**
   * The output is dropped from now on: the callbacks still waiting are called with
   * `ERR_STREAM_DESTROYED` on a later tick, each once (the end's, last, as Node names it).
   */
  private drop(): void {
    this.failed = true
    const waiting = this.waiting
    if (waiting.length === 0) return
    this.waiting = []
    for (let i = 0; i < waiting.length; i++) {
      const cb = waiting[i]
      if (cb === undefined) continue
      const method = this.ended && i === waiting.length - 1 ? 'end' : 'write'
      process.nextTick(cb, streamDestroyed(method))
    }
  }

  private settle(promise: Promise<void>): void {
    const tail: Promise<void> = promise.then(
      () => this.idle(tail),
      (error: unknown) => {
        this.fault(error)
        this.idle(tail)
      }
    )
    this.tail = tail
  }

  private idle(tail: Promise<void>): void {
    if (this.tail !== tail) return
    this.tail = undefined
    if (this.needDrain) {
      this.needDrain = false
      // When the socket itself is full, Node emits 'drain' once it empties.
      if (!this.res.writableNeedDrain && !this.res.destroyed) this.res.emit('drain')
    }
  }

  /** Drops this body before anything went through it (its head was not written). */
  discard(): void {
    this.failed = true
    this.transform.abort()
  }

  private fault(error: unknown): void {
    if (this.failed) return
    this.drop()
    this.transform.abort()
    this.ctx.fail(error)
    this.res.destroy()
  }
}

/**
 * Headers that describe a response body (representation metadata, RFC 9110 §8, plus the framing
 * ones). finalhandler drops Content-Encoding / -Language / -Range before writing its error page
 * and sets Content-Length from its own bytes; the kit's own responses do the same with these.
 */
export const ENTITY_HEADERS: readonly string[] = [
  'content-length',
  'content-encoding',
  'content-language',
  'content-range',
  'content-disposition',
  'content-location',
  'content-md5',
  'transfer-encoding',
  'etag',
  'last-modified',
]

/**
 * Removes from `res` the entity headers a handler set for a body of its own, before the kit
 * writes a different one (its JSON error, a `respond` body). Headers given with that response
 * are set afterwards and apply.
 */
export function clearEntityHeaders(res: ServerResponse): void {
  for (let i = 0; i < ENTITY_HEADERS.length; i++) {
    const name = ENTITY_HEADERS[i]!
    if (res.hasHeader(name)) res.removeHeader(name)
  }
}

type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse

/**
 * Frames an empty `respond` body as empty whatever Content-Length was given (one copied from an
 * upstream would have the client read the next response on the connection as this body):
 * `Content-Length: 0` when the response has a body to frame, as Fastify's `reply.send()` does.
 * A HEAD response's length describes the GET's body and a 304's the representation (RFC 9110
 * §8.6): a given one stays. So does a 204's, which no client frames by it (cors() sends
 * `Content-Length: 0` on its 204 preflight answer for old Safari, as expressjs/cors does).
 */
function frameEmpty(res: ServerResponse, status: number, method: string): void {
  if (status !== 204 && status !== 304 && method !== 'HEAD') res.setHeader('content-length', 0)
}

const EMPTY = new Uint8Array(0)
const emptyStep = (): Uint8Array => EMPTY

/** The error a read of `req` gets when the socket went away mid-body. */
function isAbortedRead(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ECONNRESET'
}

/** A zlib decoder: `bytesWritten` counts the input it consumed. */
type Decoder = Transform & Zlib

/** zlib decoders undoing `codings` (as applied), first decoder first. */
function decoderChain(codings: BodyCoding[]): Decoder[] {
  const decoders: Decoder[] = []
  for (let i = codings.length - 1; i >= 0; i--) {
    const c = codings[i]
    decoders.push(
      c === 'gzip' ? createGunzip() : c === 'deflate' ? createInflate() : createBrotliDecompress()
    )
  }
  return decoders
}

/**
 * Hooks the head on this response object only, the way on-headers does: one closure per request,
 * keeping the previous `writeHead` so that several hooks (two adapters, on-headers itself) chain.
 */
function hookInstanceHead(res: ServerResponse, ctx: NodeContext): void {
  const prev = res.writeHead as unknown as WriteHead
  ;(res as unknown as { writeHead: WriteHead }).writeHead = function writeHead(
    this: ServerResponse,
    ...args: unknown[]
  ): ServerResponse {
    const message = this.statusMessage
    let written: ServerResponse
    try {
      ctx.onHead(this, args)
      written = prev.apply(this, args)
    } catch (error) {
      if (this.headersSent) ctx.headDone()
      else headNotWritten(this, message, ctx)
      throw error
    }
    ctx.headDone()
    return written
  }
}

/**
 * After a `writeHead` that threw before writing anything (Node refused it, see `headRefused`, or
 * a hook below the kit's failed):
 * the status message Node set on the way is put back (the next head, the kit's or the
 * framework's error response, would go out as `500 OK`), and the Context is as before the head.
 */
export function headNotWritten(
  res: ServerResponse,
  message: string,
  ctx: { headFailed?(): void; headDone(): void }
): void {
  res.statusMessage = message
  // A context of an older copy of this package (Express's shared hook) has no headFailed.
  if (typeof ctx.headFailed === 'function') ctx.headFailed()
  else ctx.headDone()
}

/** A `Context` over a Node request/response pair. Adapters subclass it for framework specifics. */
export class NodeContext extends BaseContext {
  /** The native request. */
  readonly req: IncomingMessage
  /** The native response. */
  readonly res: ServerResponse
  /** True once something started consuming the request body through this context. */
  protected bodyStarted = false
  private urlPath: string | undefined = undefined
  private urlQuery = ''
  /** The authority of an absolute-form target (lower-cased), `undefined` for origin-form. */
  private targetAuthority: string | undefined = undefined
  private headWaiter: Promise<void> | undefined = undefined
  private releaseHead: (() => void) | undefined = undefined
  private closed = false
  private watching = false
  /** The close callback registered on the socket while the response waits in the pipeline queue. */
  private queuedClose: (() => void) | undefined = undefined
  private bodyFactory: BodyTransformFactory | undefined = undefined
  /** `res.write` / `res.end` as they were before `transformBody` patched them. */
  private nativeWrites: NativeWrites | undefined = undefined
  /** The transform chosen at head time, if any. */
  private bodyTransform: TransformedBody | undefined = undefined
  /** Set by the patched `end()` when the body is empty: nothing to transform. */
  private emptyBody = false
  /** Counts, times and watches the body on the wire once a policy or `ctx.json()` asks. */
  private bodyGuard: NodeBodyGuard | undefined = undefined
  /** Header values middleware put straight on the native response (`noteNativeHeaders`). */
  private nativeHeaders: NativeHeaders | undefined = undefined
  /** The kit's copy of the headers object given to `writeHead` (see `writableHeadHeaders`). */
  private headHeaders: object | undefined = undefined

  /**
   * `hookHead: false` is for an adapter that calls `onHead` / `headDone` from its own head hook
   * (Express hooks its shared response prototype once, instead of every response object).
   */
  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    options: ResolvedAdapterOptions,
    hookHead = true
  ) {
    super(options)
    this.req = req
    this.res = res
    if (hookHead) hookInstanceHead(res, this)
  }

  /**
   * Records headers a middleware set straight on the native response instead of through
   * `setHeader` (`securityHeaders()` and `requestLogger()` do, as helmet does: it is the cheaper
   * path; so do the Express and Fastify adapters for the header-only middleware they apply
   * themselves). A later `ctx.setHeader` of one of these names then still replaces the value, as
   * it would replace a pending header of an earlier middleware (last writer wins, as under Next);
   * a value the route set itself wins as always.
   */
  noteNativeHeaders(list: NativeHeaderList): void {
    if (this.nativeHeaders === undefined) this.nativeHeaders = [list]
    else this.nativeHeaders.push(list)
  }

  /** `noteNativeHeaders` for one header; `lowerName` in lower case. */
  noteNativeHeader(lowerName: string, value: string): void {
    if (this.nativeHeaders === undefined) this.nativeHeaders = [lowerName, value]
    else this.nativeHeaders.push(lowerName, value)
  }

  /** Runs right before the head is written (status from `writeHead`'s arguments): onHeaders
   * hooks, the middleware headers, the body transform. Only the first call does anything, unless
   * Node refuses its head (see `headRefused` and `headFailed`). */
  onHead(res: ServerResponse, args: unknown[]): void {
    if (this.headWritten || headRefused(args)) return
    // As Node reads it: `writeHead('404')`, Express 4's `res.status('201')` (the implicit head
    // passes `res.statusCode`) send the number.
    const status = (args[0] as number) | 0
    const headers = this.beforeHead(status)
    if (headers !== undefined) applyPendingHeaders(this, res, args, headers, this.nativeHeaders)
    if (this.bodyFactory !== undefined) this.startTransform(res, args, status)
  }

  /**
   * The head `onHead` prepared was not written (`writeHead` threw before anything went out): as
   * before the head, so the next one runs the `onHeaders` hooks again and gets the headers. A
   * body transform started for it is dropped (the next head starts its own, or none).
   */
  override headFailed(): void {
    super.headFailed()
    this.headHeaders = undefined
    const body = this.bodyTransform
    if (body !== undefined) {
      this.bodyTransform = undefined
      body.discard()
    }
  }

  /**
   * Whether the middleware headers may be written into `headers`, the object given to
   * `writeHead`: only the kit's copy of it, or an object the adapter knows is this response's own
   * (Fastify's reply headers). The route's object may be shared by every response or frozen.
   */
  ownsHeadHeaders(headers: object): boolean {
    return headers === this.headHeaders
  }

  /**
   * The headers object `args[at]` (given to `writeHead`), made one the kit may write into: when
   * not this response's own (see `ownsHeadHeaders`) it is copied once and the copy replaces it in
   * `args`, which the hook hands to Node. Written into, a module-level constant would carry one
   * client's request id and `Set-Cookie` to the next response as "the route's own" headers.
   */
  writableHeadHeaders(args: unknown[], at: number): Record<string, unknown> {
    const headers = args[at] as Record<string, unknown>
    if (this.ownsHeadHeaders(headers)) return headers
    const copy = { ...headers }
    args[at] = copy
    this.headHeaders = copy
    return copy
  }

  /**
   * Starts listening for the response's 'close' (once): only when `finished`, `signal` or the
   * route's head is awaited, so a request nobody observes adds no listener. 'close' follows
   * 'finish' on every ServerResponse, so one listener tells a complete response from a client gone.
   *
   * A pipelined request that waits behind another response has no socket yet, and Node never
   * emits 'close' on its response when the client leaves (it only destroys the request, and not
   * even that once its body was read). The same callback then also waits for the socket's
   * 'close' (see queued-close.ts: one listener per socket), until the response closes.
   */
  protected override watchLifecycle(): void {
    if (this.watching) return
    this.watching = true
    const res = this.res
    if (res.writableFinished || res.destroyed) {
      this.onResponseClose()
      return
    }
    const onClose = (): void => this.onResponseClose()
    // `on`, not `once`: 'close' is emitted once per response, and once() allocates a wrapper.
    res.on('close', onClose)
    if (res.socket === null) {
      const socket = this.req.socket
      if (socket === null || socket === undefined) return
      if (socket.destroyed) {
        this.onResponseClose()
        return
      }
      this.queuedClose = onClose
      onSocketClose(socket, onClose)
    }
  }

  get method(): string {
    return this.req.method ?? 'GET'
  }

  /**
   * Registers a transform factory called at head time (see `Context.transformBody`; several are
   * chained, see chain-transforms.ts). The first registration patches `res.write` / `res.end` of
   * this response so the bytes the route writes can go through the transform.
   */
  transformBody(factory: BodyTransformFactory): void {
    if (typeof factory !== 'function') throw new TypeError('transformBody expects a function')
    if (this.headWritten) {
      throw new AikitError('HEADERS_SENT', 500, 'The response head has already been written')
    }
    if (this.bodyFactory === undefined) {
      this.nativeWrites = patchBodyWrites(this.res, () => this.bodyTransform, this)
      this.bodyFactory = factory
    } else this.bodyFactory = chainFactories(this.bodyFactory, factory)
  }

  /** Marks the body empty (`end()` without data before the head): no transform is started. */
  noteEmptyBody(): void {
    this.emptyBody = true
  }

  /**
   * Calls the factory with the route's headers (and those given to `writeHead`). A HEAD response
   * has no body to transform, but its headers are the GET's: the factory sees its head too (so
   * compress() adds the `Vary: Accept-Encoding` the GET gets), and a transform it returns is
   * dropped unused.
   */
  private startTransform(res: ServerResponse, args: unknown[], status: number): void {
    const factory = this.bodyFactory!
    const head = this.method === 'HEAD'
    if ((this.emptyBody && !head) || status === 204 || status === 205 || status === 304) return
    // Raw header arrays given to writeHead cannot be edited: leave such a response alone.
    if (args.length > 1 && args.slice(1, 3).some(Array.isArray)) return
    let transform: BodyTransform | undefined
    try {
      transform = factory(headView(this, res, args, status))
    } catch (error) {
      this.fail(error)
      return
    }
    if (head) transform?.abort()
    else if (transform !== undefined) {
      this.bodyTransform = new TransformedBody(res, transform, this.nativeWrites!, this)
    }
  }

  get path(): string {
    if (this.urlPath === undefined) this.splitUrl()
    return this.urlPath as string
  }

  get query(): string {
    if (this.urlPath === undefined) this.splitUrl()
    return this.urlQuery
  }

  /** See `TARGET_AUTHORITY`: the authority of an absolute-form target, else `undefined`. */
  get [TARGET_AUTHORITY](): string | undefined {
    if (this.urlPath === undefined) this.splitUrl()
    return this.targetAuthority
  }

  /**
   * `req.headers` is a plain object: a name such as `constructor` or `__proto__` must not find
   * what `Object.prototype` has (nor what a polluted prototype would), only the request's own.
   */
  header(name: string): string | undefined {
    const headers = this.req.headers
    const lower = name.toLowerCase()
    const value = headers[lower]
    if (value === undefined || !Object.hasOwn(headers, lower)) return undefined
    if (typeof value === 'string') return value
    return Array.isArray(value) ? value.join(', ') : undefined
  }

  /** The request URL as the client sent it (Express overrides this with `originalUrl`). */
  protected rawUrl(): string {
    return this.req.url ?? '/'
  }

  protected remoteAddress(): string | undefined {
    return this.req.socket?.remoteAddress
  }

  /** Resolves once the head is written, or the response closed without one. */
  waitForHead(): Promise<void> {
    if (this.headWritten || this.closed) return Promise.resolve()
    this.watchLifecycle()
    if (this.closed) return Promise.resolve()
    if (this.headWaiter === undefined) {
      this.headWaiter = new Promise((resolve) => {
        this.releaseHead = resolve
      })
    }
    return this.headWaiter
  }

  /** Starts guarding the body on the wire: the limit applies to any reader of `req`. */
  protected override onBodyPolicy(policy: BodyPolicy): void {
    if (this.bodyGuard === undefined) {
      this.bodyGuard = new NodeBodyGuard(
        this.req,
        this.res,
        this,
        policy.maxBytes,
        policy.timeoutMs
      )
    } else this.bodyGuard.update(policy.maxBytes, policy.timeoutMs)
  }

  /** The guard, installed with the adapter defaults (no wire limit) when no policy did. */
  private guard(): NodeBodyGuard {
    this.bodyGuard ??= new NodeBodyGuard(
      this.req,
      this.res,
      this,
      Number.POSITIVE_INFINITY,
      DEFAULT_BODY_TIMEOUT_MS
    )
    return this.bodyGuard
  }

  /**
   * A body failure the guard already answered (or destroyed the response for) is not an error to
   * report again when a reader's rejection brings it back, nor is the reset socket it causes.
   */
  override fail(error: unknown): void {
    const failure = this.bodyGuard?.failure
    if (failure !== undefined && this.headWritten && (error === failure || isAbortedRead(error))) {
      return
    }
    super.fail(error)
  }

  /**
   * A middleware replaced the body it read (`REPLACE_BODY`): the request headers now describe
   * the new bytes, for whoever reads them next (Fastify's parser compares Content-Length).
   */
  protected override onBodyReplaced(_value: unknown, bytes: Uint8Array): void {
    const headers = this.req.headers
    if (headers['content-length'] !== undefined) {
      headers['content-length'] = String(bytes.byteLength)
    }
  }

  /** Raw (encoded) body bytes received so far, when the body is guarded. */
  get receivedBodyBytes(): number | undefined {
    return this.bodyGuard?.received
  }

  /**
   * Reads the body for `ctx.json()`: decoded (gzip / deflate / br) when the policy says
   * `decompress`, the DECODED size counted against `maxBytes` (a zip bomb stops there, the
   * decoder destroyed); 415 for a coding not decoded, 400 (`Connection: close`) for bytes that do
   * not decode or that follow the end of the compressed data. Stalls (408), a body cut short (400)
   * and the wire limit (413) come from the guard.
   */
  protected readBody(maxBytes: number): Promise<Uint8Array> {
    this.bodyStarted = true
    const req = this.req
    const policy = this.bodyPolicy
    const codings = parseContentEncoding(req.headers['content-encoding'])
    if (codings === null || (codings.length > 0 && policy?.decompress !== true)) {
      // Decoding needs the decoded-size limit of `bodyLimit({ decompress: true })`.
      return Promise.reject(unsupportedEncodingError())
    }
    const limit = policy === undefined ? maxBytes : Math.min(maxBytes, policy.maxBytes)
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > limit) {
      this.closeAfterResponse()
      return Promise.reject(new PayloadTooLargeError(limit))
    }
    if (req.readableEnded || (req.complete && !req.readable)) {
      // Already consumed by someone else: nothing left to read.
      return Promise.resolve(EMPTY)
    }
    const guard = this.guard()
    if (guard.failure !== undefined) return Promise.reject(guard.failure)
    // The body is read now: a client waiting for `100 Continue` is told to send it (see
    // `sendContinue`); the refusals above answer from the head, without it.
    sendContinue(this.res)
    return new Promise<Uint8Array>((resolve, reject) => {
      const decoders = codings.length === 0 ? [] : decoderChain(codings)
      const source: Readable = decoders.length === 0 ? req : decoders[decoders.length - 1]!
      // Bytes handed to each decoder, to compare with what it consumed (see `onEnd`).
      const fed: number[] = []
      const counters: [Readable, (chunk: Buffer) => void][] = []
      const chunks: Buffer[] = []
      let size = 0
      let settled = false
      const finish = (error: AikitError | undefined, bytes?: Uint8Array): void => {
        if (settled) return
        settled = true
        source.off('data', onData)
        source.off('end', onEnd)
        for (const [from, count] of counters) from.off('data', count)
        req.off('error', onError)
        req.off('close', onClose)
        guard.offFail(onGuardFail)
        // Nothing more goes through the decoders: `req` may still be piped into one that ended
        // before the body did, which the next bytes would make fail (their 'error' listener
        // stays on, for whatever a decoder still emits).
        for (const d of decoders) {
          req.unpipe(d)
          d.destroy()
        }
        if (error === undefined) {
          resolve(bytes!)
          return
        }
        req.pause()
        reject(error)
      }
      const onData = (chunk: Buffer | string): void => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        size += buf.byteLength
        if (size > limit) {
          this.closeAfterResponse()
          finish(new PayloadTooLargeError(limit))
          return
        }
        chunks.push(buf)
      }
      const onEnd = (): void => {
        if (decoders.some((d, i) => d.bytesWritten !== fed[i])) {
          // A decoder stopped with input left: bytes follow the end of its compressed data (zero
          // padding, junk), which zlib skips without a word, and more may still come from `req`.
          // The body is not a valid encoding (the Web path's DecompressionStream fails too).
          this.closeAfterResponse()
          finish(new InvalidRequestError('The request body has bytes after its compressed data'))
          return
        }
        if (decoders.length > 0) {
          // Whoever reads these bytes next (Fastify's parser, fed them in preParsing) gets them
          // decoded: the headers now describe the decoded body, as on the Web path.
          delete req.headers['content-encoding']
          req.headers['content-length'] = String(size)
        }
        finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
      }
      const onError = (): void => {
        this.markClientGone()
        finish(guard.failure ?? new InvalidRequestError('The request body was not fully received'))
      }
      const onDecodeError = (): void => {
        if (settled) return
        this.closeAfterResponse()
        finish(new InvalidRequestError('The request body could not be decoded'))
      }
      const onClose = (): void => {
        if (!req.complete) onError()
      }
      const onGuardFail = (error: AikitError): void => finish(error)
      let from: Readable = req
      for (let i = 0; i < decoders.length; i++) {
        const d = decoders[i]!
        // Every decoder of the chain (the first gets the raw bytes) may fail, until destroyed:
        // an 'error' without a listener would take the process down.
        d.on('error', onDecodeError)
        fed.push(0)
        const count = (chunk: Buffer): void => {
          fed[i] = (fed[i] ?? 0) + chunk.byteLength
        }
        from.on('data', count)
        counters.push([from, count])
        from = from.pipe(d)
      }
      source.on('data', onData)
      source.on('end', onEnd)
      req.on('error', onError)
      req.on('close', onClose)
      guard.onFail(onGuardFail)
    })
  }

  protected writeResponse(response: PendingResponse): Promise<void> {
    const res = this.res
    if (res.headersSent || res.destroyed || res.writableEnded || this.closed) {
      // Nothing more goes out (the client left, or the response was written another way): a
      // stream body is released now, as the pump would release it.
      dropBody(response.body)
      return Promise.resolve()
    }
    res.statusCode = response.status
    // The handler may have described its own body on `res` before it failed (a file download's
    // Content-Length / Content-Encoding): none of that describes this one.
    clearEntityHeaders(res)
    const headers = response.headers
    for (const name in headers) res.setHeader(name, headers[name]!)
    const body = response.body
    switch (body.kind) {
      case 'empty':
        frameEmpty(res, response.status, this.method)
        res.end()
        break
      case 'text':
      case 'bytes': {
        const bytes = body.kind === 'text' ? Buffer.from(body.text) : body.bytes
        res.setHeader('content-length', bytes.byteLength)
        res.end(bytes)
        break
      }
      case 'stream':
        this.writeStream(body.stream)
        break
    }
    return Promise.resolve()
  }

  /**
   * Writes the head now (so a streaming client sees it at once) and pumps the body behind it. A
   * Content-Length given to `respond` stays on the head and the pump holds the stream to it (see
   * `pump`); one that is not a byte count is dropped first (the server chunks the stream).
   */
  protected writeStream(stream: StreamBody): void {
    const res = this.res
    const declared = res.getHeader('content-length')
    if (declared !== undefined && byteCount(declared) === undefined) {
      res.removeHeader('content-length')
    }
    res.writeHead(res.statusCode)
    res.flushHeaders()
    // Read again once the head is out: a body transform may have reframed its output (compress()
    // removes the length). One the head still declares is held to on what reaches the wire: by
    // the transform's writes when one runs (its output is not the source's bytes), else by the
    // pump.
    let length = declared === undefined ? undefined : byteCount(res.getHeader('content-length'))
    if (length !== undefined && this.bodyTransform !== undefined) {
      this.bodyTransform.holdTo(length)
      length = undefined
    }
    void pump(this, res, stream, this.method === 'HEAD', length)
  }

  /** Asks Node to close the connection after the response instead of reading an unwanted body. */
  protected closeAfterResponse(): void {
    if (!this.res.headersSent) this.res.setHeader('connection', 'close')
  }

  /** Runs once the head is written: `await next()` resumes. */
  headDone(): void {
    const release = this.releaseHead
    if (release !== undefined) {
      this.releaseHead = undefined
      release()
    }
  }

  private onResponseClose(): void {
    const queued = this.queuedClose
    if (queued !== undefined) {
      this.queuedClose = undefined
      offSocketClose(this.req.socket, queued)
    }
    this.closed = true
    // 'close' without a completed write means the client went away (or the response was destroyed).
    this.markFinished(!this.res.writableFinished)
    this.headDone()
  }

  private splitUrl(): void {
    let url = this.rawUrl()
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (`GET http://host/path?q`): drop the scheme and authority. The path may be
      // empty (`http://host?q`, RFC 3986 §3.3): it is then `/`, and the query stays, as the
      // frameworks read it.
      const scheme = url.indexOf('://')
      if (scheme !== -1) {
        const slash = url.indexOf('/', scheme + 3)
        const q = url.indexOf('?', scheme + 3)
        const end = Math.min(slash === -1 ? url.length : slash, q === -1 ? url.length : q)
        this.targetAuthority = url.slice(scheme + 3, end).toLowerCase()
        if (q !== -1 && (slash === -1 || q < slash)) url = `/${url.slice(q)}`
        else url = slash === -1 ? '/' : url.slice(slash)
      }
    }
    const q = url.indexOf('?')
    if (q === -1) {
      this.urlPath = url
    } else {
      this.urlPath = url.slice(0, q)
      this.urlQuery = url.slice(q + 1)
    }
  }
}
