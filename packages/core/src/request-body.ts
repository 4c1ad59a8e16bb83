/**
 * @module request-body
 * The request-body policy a middleware (security's `bodyLimit()`) hands the adapter, and the
 * edge-safe reader that enforces it on a Web body stream:
 * - the DECODED size counts against `maxBytes` (a gzip bomb stops at the limit, memory bounded:
 *   chunks are passed on as they come, never buffered here);
 * - `gzip` / `deflate` (and `br` where the runtime's `DecompressionStream` has it) are decoded
 *   when `decompress` is on; any other coding is 415;
 * - a body that stops arriving while someone waits for it fails with 408 after `timeoutMs`
 *   (idle time, reset by every chunk; a consumer that simply reads slowly is not a stall);
 * - a body that ends before its declared `Content-Length`, or runs past it, fails with 400: it is
 *   an incomplete (or malformed) message (RFC 9112 §6.3). Node's HTTP parser enforces this for
 *   node:http, but a Web `Request` built on a stream with that header does not.
 */
import {
  AikitError,
  InvalidRequestError,
  isAikitError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors.js'

/**
 * Call `ctx[BODY_POLICY](policy)` to make the adapter enforce `policy` on every read of this
 * request's body: `ctx.json()` and the route's own reads (the Web `Request` handed to a Next
 * route handler, the Node `req` a handler reads). A registry symbol, so another copy of the kit
 * finds it too.
 */
export const BODY_POLICY: unique symbol = Symbol.for('@aikit/core.body-policy') as never

/**
 * Call `ctx[REPLACE_BODY](value, bytes)` after `ctx.json()` resolved to make `value` the request
 * body from then on: later `ctx.json()` calls resolve to it, and the adapter hands `bytes` (its
 * JSON text) to the route's own reads (Fastify's body parser, the Web `Request` of a Next route)
 * instead of the bytes received. Security's `promptGuard()` does, after censoring a secret. A
 * registry symbol, like `BODY_POLICY`.
 */
export const REPLACE_BODY: unique symbol = Symbol.for('@aikit/core.replace-body') as never

/** How an adapter reads a request body. */
export interface BodyPolicy {
  /** Largest body, counted after decoding. */
  maxBytes: number
  /** Decode `gzip` / `deflate` / `br` bodies (counted decoded) instead of refusing them (415). */
  decompress: boolean
  /** Longest wait for the next body chunk while a reader waits, in ms; 0 = no timeout. */
  timeoutMs: number
}

/** The idle body timeout used when nothing else is configured: 10 s without a byte → 408. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000

/** 408: the client stopped sending the request body. */
export class RequestTimeoutError extends AikitError {
  constructor(timeoutMs: number) {
    super('REQUEST_TIMEOUT', 408, `The request body did not arrive within ${timeoutMs} ms`, {
      details: { timeoutMs },
    })
  }
}

/** A content coding the kit can decode. */
export type BodyCoding = 'gzip' | 'deflate' | 'br'

/**
 * Most codings one body may stack (as undici's `fetch`). Real clients apply one; each is a decoder
 * chained on the next, and a 10 KB header of 2000 `gzip` (over a 50 KB body nested as deep) kept
 * the decoders, and the libuv threadpool they share with every other request, busy for 20 s.
 */
const MAX_BODY_CODINGS = 5

/**
 * The codings of a `Content-Encoding` header in the order they were applied (`identity`
 * dropped, `x-gzip` read as `gzip`): `[]` for none, `null` when one is not decodable here or
 * there are more than `MAX_BODY_CODINGS` of them.
 */
export function parseContentEncoding(header: string | undefined): BodyCoding[] | null {
  if (header === undefined) return []
  const codings: BodyCoding[] = []
  for (const part of header.split(',')) {
    const c = part.trim().toLowerCase()
    if (c === '' || c === 'identity') continue
    if (codings.length === MAX_BODY_CODINGS) return null
    if (c === 'gzip' || c === 'x-gzip') codings.push('gzip')
    else if (c === 'deflate' || c === 'br') codings.push(c)
    else return null
  }
  return codings
}

/** 415 for a body whose coding the reader will not (or cannot) decode. */
export function unsupportedEncodingError(): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError('identity-encoded (or gzip/deflate with decompress)')
}

const WEB_FORMATS: Record<BodyCoding, string> = { gzip: 'gzip', deflate: 'deflate', br: 'brotli' }

/** A `DecompressionStream` for `coding`, or undefined when the runtime has none for it. */
function webDecoder(coding: BodyCoding): TransformStream<Uint8Array, Uint8Array> | undefined {
  const Ctor = (globalThis as { DecompressionStream?: new (format: string) => unknown })
    .DecompressionStream
  if (Ctor === undefined) return undefined
  try {
    return new Ctor(WEB_FORMATS[coding]) as TransformStream<Uint8Array, Uint8Array>
  } catch {
    return undefined // e.g. 'brotli' before Node 24 / in most edge runtimes
  }
}

/** What `limitWebBody` needs besides the stream. */
export interface WebBodyLimits {
  /** Largest body, counted after decoding. */
  maxBytes: number
  /** Longest wait for the next chunk while a reader waits, in ms; 0 = no timeout. */
  timeoutMs: number
  /** The codings to decode, as applied (from `parseContentEncoding`); `[]` counts the raw bytes. */
  codings: BodyCoding[]
  /**
   * The body's `Content-Length` (its raw, still encoded size), when declared: a body that ends
   * short of it or runs past it fails with 400. `'invalid'` for a value that is no length (junk,
   * or a list of differing values): the first read fails with 400 (RFC 9112 §6.3: such framing is
   * an unrecoverable error).
   */
  declaredBytes?: number | 'invalid' | undefined
  /** Called once, before the returned stream errors, with the AikitError that ended it. */
  onFail?: (error: AikitError) => void
}

/**
 * The body of a Web request, decoded if asked, counted and timed. The stream errors with
 * `PayloadTooLargeError` once the decoded count passes `maxBytes` (the source is cancelled at
 * once), with `RequestTimeoutError` when no chunk came for `timeoutMs` while it was being read,
 * and with a 400 when the source itself fails, the bytes do not decode, or their raw count does
 * not match `declaredBytes` (or that is `'invalid'`). Throws 415 at once for a coding the runtime
 * cannot decode.
 */
export function limitWebBody(
  source: ReadableStream<Uint8Array>,
  limits: WebBodyLimits
): ReadableStream<Uint8Array> {
  let stream = source
  const declared = limits.declaredBytes
  const invalidLength = declared === 'invalid'
  if (limits.codings.length > 0) {
    const decoders: TransformStream<Uint8Array, Uint8Array>[] = []
    for (let i = limits.codings.length - 1; i >= 0; i--) {
      const decoder = webDecoder(limits.codings[i]!)
      if (decoder === undefined) throw unsupportedEncodingError()
      decoders.push(decoder)
    }
    // Nothing is decoded from a body whose end is unknown: the first read fails (and cancels
    // the source itself, not a pipe that would cancel it later).
    if (!invalidLength) {
      // Content-Length counts the encoded bytes: they are checked before decoding.
      if (typeof declared === 'number') stream = stream.pipeThrough(declaredLengthCheck(declared))
      for (const d of decoders) stream = stream.pipeThrough(d)
    }
  }
  // Without a coding the count here is the raw one: Content-Length is checked against it.
  const rawDeclared =
    limits.codings.length === 0 && typeof declared === 'number' ? declared : undefined
  const reader = stream.getReader()
  let total = 0
  let failed = false
  const fail = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: AikitError
  ): void => {
    if (failed) return
    failed = true
    limits.onFail?.(error)
    controller.error(error)
    reader.cancel(error).catch(() => {})
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (invalidLength) return fail(controller, invalidLengthError())
        let timer: ReturnType<typeof setTimeout> | undefined
        const stalled =
          limits.timeoutMs > 0
            ? new Promise<'stalled'>((resolve) => {
                timer = setTimeout(() => resolve('stalled'), limits.timeoutMs)
              })
            : undefined
        let r: ReadableStreamReadResult<Uint8Array> | 'stalled'
        try {
          const read = reader.read()
          r = stalled === undefined ? await read : await Promise.race([read, stalled])
        } catch (cause) {
          fail(controller, bodyReadError(cause))
          return
        } finally {
          if (timer !== undefined) clearTimeout(timer)
        }
        if (r === 'stalled') return fail(controller, new RequestTimeoutError(limits.timeoutMs))
        if (failed) return
        if (r.done) {
          if (rawDeclared !== undefined && total < rawDeclared)
            return fail(controller, lengthMismatchError(rawDeclared, total))
          controller.close()
          return
        }
        total += r.value.byteLength
        if (rawDeclared !== undefined && total > rawDeclared)
          return fail(controller, lengthMismatchError(rawDeclared, total))
        if (total > limits.maxBytes)
          return fail(controller, new PayloadTooLargeError(limits.maxBytes))
        controller.enqueue(r.value)
      },
      cancel(reason) {
        failed = true
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 }
  )
}

/**
 * The 400 for a body whose size is not its declared Content-Length: at its end (`received` below
 * `declared`: the client stopped early), or as soon as it runs past it.
 */
function lengthMismatchError(declared: number, received: number): InvalidRequestError {
  return new InvalidRequestError(
    received < declared
      ? 'The request body ended before its declared Content-Length'
      : 'The request body is longer than its declared Content-Length',
    { details: { declaredBytes: declared } }
  )
}

/** The 400 for a Content-Length that is no byte count: where the body ends is not known. */
function invalidLengthError(): InvalidRequestError {
  return new InvalidRequestError('The request Content-Length is not a valid length')
}

/** Passes the raw (encoded) bytes on, failing with 400 when their count is not `declared`. */
function declaredLengthCheck(declared: number): TransformStream<Uint8Array, Uint8Array> {
  let received = 0
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      received += chunk.byteLength
      if (received > declared) throw lengthMismatchError(declared, received)
      controller.enqueue(chunk)
    },
    flush() {
      if (received < declared) throw lengthMismatchError(declared, received)
    },
  })
}

/** A source failure as the kit's 400 (an AikitError from an inner stage is kept). */
function bodyReadError(cause: unknown): AikitError {
  if (isAikitError(cause)) return cause
  return new InvalidRequestError('The request body could not be read or decoded', { cause })
}

/** Reads a whole (limited) Web body into one array. */
export async function readWebBody(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const r = await reader.read()
    if (r.done) break
    chunks.push(r.value)
    total += r.value.byteLength
  }
  if (chunks.length === 1) return chunks[0]!
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const c of chunks) {
    bytes.set(c, offset)
    offset += c.byteLength
  }
  return bytes
}
