/**
 * @module body-limit
 * `bodyLimit()`: refuses oversized or malformed request bodies before anything reads them, and
 * caps what `ctx.json()` reads downstream.
 *
 * - `Content-Length` is parsed strictly (digits only; repeated values must be identical), else 400;
 *   over the limit, 413 at once with `Connection: close`, the body never read (so the unread bytes
 *   are not parsed as a next request).
 * - `Content-Length` together with `Transfer-Encoding` is a request-smuggling shape: 400 (Node's
 *   parser already refuses it; the Web path in Next must too).
 * - A `Content-Encoding` other than `identity` is 415, unless `decompress: true` (then `gzip`,
 *   `deflate` and `br` are decoded while read and the DECODED size counts against `maxBytes`, so a
 *   zip bomb stops at the limit with 413; other codings stay 415) or it is listed in
 *   `allowEncodings` (passed through raw, its raw size counted; the app decodes and counts it).
 * - Every read of the body is limited, not only `ctx.json()`: the adapter counts the bytes on the
 *   wire (Node: whoever reads `req`, body-parser and Fastify's parser included; Next: the route
 *   handler's `Request` is handed a counting stream). Past the limit the read fails and the
 *   client gets 413 with the kit's JSON body.
 * - A body that stops arriving for `timeoutMs` ms while it is being read is 408; a body cut
 *   short by the client (fewer bytes than `Content-Length`, then the client ends) is 400.
 */
import {
  type BodyLimits,
  type Context,
  errorBody,
  InvalidOptionsError,
  InvalidRequestError,
  type Middleware,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '@aikit/core'
import {
  BODY_POLICY,
  type BodyPolicy,
  parseContentEncoding,
  rejectUnknownOptions,
} from '@aikit/core/adapter'

/** Options of `bodyLimit`. */
export interface BodyLimitOptions {
  /** Largest body accepted, in bytes or as `'100kb'`, `'1mb'`. @default 1_048_576 (1 MiB) */
  maxBytes?: number | string
  /** Deepest JSON nesting `ctx.json()` accepts downstream. @default the adapter's (64) */
  maxDepth?: number
  /**
   * Decode `gzip` (`x-gzip`), `deflate` and `br` request bodies while reading them, counting the
   * DECODED size against `maxBytes` (a zip bomb stops at the limit with 413). Decoded: what
   * `ctx.json()` reads (Node: `node:zlib`; Web: `DecompressionStream`) and, in Next, the route
   * handler's own `Request` body. On Node a handler reading `req` itself gets the encoded bytes
   * (their raw size counted). Where the runtime cannot decode a coding (`br` without
   * `DecompressionStream('brotli')`) the body is 415. Off: any coding but `identity` is 415.
   * @default false
   */
  decompress?: boolean
  /**
   * Idle timeout of a body read, in ms: when no byte arrives for this long while the body is
   * being read, the request fails with 408 `REQUEST_TIMEOUT` (and the connection is closed).
   * `0` turns it off (Node's `server.requestTimeout`, 300 s by default, still bounds the whole
   * request on Node).
   * @default 10_000
   */
  timeoutMs?: number
  /**
   * `Content-Encoding` values let through undecoded (the app inflates and counts them itself;
   * only their raw size is counted here). @default []
   */
  allowEncodings?: string[]
  /**
   * Require a JSON content type (`application/json`, `+json`, UTF-8) whenever a body is present:
   * 415 otherwise. Closes the simple-request CSRF trick of JSON sent as `text/plain`. @default false
   */
  requireJson?: boolean
}
const BODY_LIMIT_KEYS = Object.keys({
  maxBytes: true,
  maxDepth: true,
  decompress: true,
  timeoutMs: true,
  allowEncodings: true,
  requireJson: true,
} satisfies Record<keyof BodyLimitOptions, true>)

const DEFAULTS = { maxBytes: 1_048_576, decompress: false, timeoutMs: 10_000 }
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

/** `'1mb'` → 1048576; throws `InvalidOptionsError` for anything but a positive size. */
export function parseByteSize(value: number | string, field: string): number {
  let bytes: number
  if (typeof value === 'number') bytes = value
  else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value)
    if (m === null) throw new InvalidOptionsError(field, 'must be bytes or a size like "1mb"')
    bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!)
  } else throw new InvalidOptionsError(field, 'must be a number of bytes or a size like "1mb"')
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new InvalidOptionsError(field, 'must be a positive whole number of bytes')
  }
  return bytes
}

/**
 * Parses a `Content-Length` header strictly. Returns the length, `undefined` when absent, or
 * `null` when malformed (signs, spaces inside, hex, exponents, differing repeated values).
 */
export function parseContentLength(header: string | undefined): number | undefined | null {
  if (header === undefined) return undefined
  let length: number | undefined
  for (const part of header.split(',')) {
    const v = part.trim()
    if (!/^\d{1,16}$/.test(v)) return null
    const n = Number(v)
    if (!Number.isSafeInteger(n) || (length !== undefined && n !== length)) return null
    length = n
  }
  return length ?? null
}

function refuse(
  ctx: Context,
  error: PayloadTooLargeError | InvalidRequestError | UnsupportedMediaTypeError,
  close: boolean
): void {
  ctx.respond(error.status, errorBody(error), close ? { connection: 'close' } : undefined)
}

/** Creates the body-limit middleware. Options are validated here. */
export function bodyLimit(options: BodyLimitOptions = {}): Middleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, BODY_LIMIT_KEYS)
  const maxBytes = parseByteSize(options.maxBytes ?? DEFAULTS.maxBytes, 'maxBytes')
  const maxDepth = options.maxDepth
  if (maxDepth !== undefined && (!Number.isInteger(maxDepth) || maxDepth < 1)) {
    throw new InvalidOptionsError('maxDepth', 'must be a positive integer')
  }
  const allow = options.allowEncodings ?? []
  if (!Array.isArray(allow) || allow.some((e) => typeof e !== 'string')) {
    throw new InvalidOptionsError('allowEncodings', 'must be an array of strings')
  }
  const allowed = new Set(allow.map((e) => e.trim().toLowerCase()))
  const requireJson = options.requireJson ?? false
  if (typeof requireJson !== 'boolean') {
    throw new InvalidOptionsError('requireJson', 'must be a boolean')
  }
  const decompress = options.decompress ?? DEFAULTS.decompress
  if (typeof decompress !== 'boolean') {
    throw new InvalidOptionsError('decompress', 'must be a boolean')
  }
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 2 ** 31 - 1) {
    throw new InvalidOptionsError('timeoutMs', 'must be a whole number of ms (0 = no timeout)')
  }
  const policy: BodyPolicy = { maxBytes, decompress, timeoutMs }

  return async function bodyLimitMiddleware(ctx, next) {
    const rawLength = ctx.header('content-length')
    const transferEncoding = ctx.header('transfer-encoding')
    if (rawLength !== undefined || transferEncoding !== undefined) {
      if (rawLength !== undefined && transferEncoding !== undefined) {
        return refuse(ctx, new InvalidRequestError('Content-Length with Transfer-Encoding'), true)
      }
      const length = parseContentLength(rawLength)
      if (length === null) {
        return refuse(ctx, new InvalidRequestError('Invalid Content-Length header'), true)
      }
      if (length !== undefined && length > maxBytes) {
        return refuse(ctx, new PayloadTooLargeError(maxBytes), true)
      }
      const encoding = ctx.header('content-encoding')
      if (!encodingAccepted(encoding, decompress, allowed)) {
        return refuse(ctx, new UnsupportedMediaTypeError('identity-encoded'), false)
      }
      if (requireJson && length !== 0 && !isJson(ctx.header('content-type'))) {
        return refuse(ctx, new UnsupportedMediaTypeError('application/json'), false)
      }
    }
    capJson(ctx, maxBytes, maxDepth)
    if (mayHaveBody(ctx, rawLength, transferEncoding)) {
      const enforce = (ctx as Context & { [BODY_POLICY]?: (p: BodyPolicy) => void })[BODY_POLICY]
      if (typeof enforce === 'function') enforce.call(ctx, policy)
    }
    await next()
  }
}

/**
 * False only when no body can follow: `Content-Length: 0`, or a GET/HEAD without any length
 * header (HTTP/2 and the Web path may carry a body without one, so other methods count).
 */
function mayHaveBody(
  ctx: Context,
  rawLength: string | undefined,
  transferEncoding: string | undefined
): boolean {
  if (transferEncoding !== undefined) return true
  if (rawLength !== undefined) return rawLength.trim() !== '0'
  return ctx.method !== 'GET' && ctx.method !== 'HEAD'
}

/** Identity, a coding decoded under `decompress`, or one listed in `allowEncodings`. */
function encodingAccepted(
  header: string | undefined,
  decompress: boolean,
  allowed: Set<string>
): boolean {
  if (header === undefined) return true
  const value = header.trim().toLowerCase()
  if (value === '' || value === 'identity' || allowed.has(value)) return true
  const codings = parseContentEncoding(header)
  return codings !== null && (codings.length === 0 || decompress)
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const lower = contentType.toLowerCase()
  const semi = lower.indexOf(';')
  const type = (semi === -1 ? lower : lower.slice(0, semi)).trim()
  if (type !== 'application/json' && !(type.startsWith('application/') && type.endsWith('+json'))) {
    return false
  }
  const at = lower.indexOf('charset=')
  if (at === -1) return true
  const charset = lower
    .slice(at + 8)
    .split(';')[0]!
    .trim()
    .replace(/^"|"$/g, '')
  return charset === 'utf-8' || charset === 'utf8'
}

/**
 * Makes downstream `ctx.json()` calls use at most these limits (the smaller of ours and the
 * caller's). Done on this context object only; the adapter's own reading and counting run as usual.
 */
function capJson(ctx: Context, maxBytes: number, maxDepth: number | undefined): void {
  const original = ctx.json
  const capped = function json<T>(this: Context, limits?: BodyLimits): Promise<T> {
    const merged: BodyLimits = {
      maxBytes: Math.min(limits?.maxBytes ?? maxBytes, maxBytes),
    }
    const depth = limits?.maxDepth ?? maxDepth
    if (depth !== undefined)
      merged.maxDepth = maxDepth === undefined ? depth : Math.min(depth, maxDepth)
    // `this`, not `ctx`: a caller may read through a view of the context (csp-report.ts
    // presents `application/csp-report` as JSON that way); the view's `header` must apply.
    return original.call(this ?? ctx, merged) as Promise<T>
  }
  Object.defineProperty(ctx, 'json', { value: capped, configurable: true, writable: true })
}
