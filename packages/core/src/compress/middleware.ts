/**
 * @module compress/middleware
 * `compress()`: compresses the response a downstream middleware (or route written as middleware)
 * produces with `ctx.respond`. It hooks this request's `respond`, `setHeader` and `appendHeader`
 * (own properties on the per-request Context, nothing global), so it sees the body before the
 * adapter writes it, on every adapter. A response the framework writes itself (Express
 * `res.send`, a Fastify reply, node:http `res.end`, a Next route's `Response`) is compressed
 * through the adapter's `ctx.transformBody` hook: the same rules decide at head time, and the
 * adapter pipes the bytes the route writes through a `CodecTransform`.
 */
import { mergeVary } from '../header-merge.js'
import { type NormalizedBody, toPendingResponse } from '../response.js'
import type { Context, Middleware, ResponseBody, ResponseHead } from '../types.js'
import { CodecTransform } from './codec-transform.js'
import { compressSync } from './codecs.js'
import { CompressedStream } from './compressed-stream.js'
import { mediaType } from './content-type.js'
import { type CompressEncoding, encodingNegotiator } from './negotiate.js'
import {
  type CompressOptions,
  type ResolvedCompressOptions,
  resolveCompressOptions,
} from './options.js'

const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i
const ACCEPT_ENCODING = /(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i

type Respond = Context['respond']
type SetHeader = Context['setHeader']
type Mutable = { -readonly [K in keyof Context]: Context[K] }

function isIdentity(value: string): boolean {
  const v = value.trim().toLowerCase()
  return v === '' || v === 'identity'
}

/** A header's value after a set (`append` false) or an append (comma-joined) of `value`. */
function joined(current: string | undefined, value: string, append: boolean): string {
  return append && current !== undefined && current !== '' ? `${current}, ${value}` : value
}

/** The lower-case-keyed view of the headers `compress()` looks at. */
interface HeaderKeys {
  type?: string
  length?: string
  encoding?: string
  cacheControl?: string
  vary?: string
  etag?: string
  range?: string
}

function keysOf(headers: Record<string, string>): HeaderKeys {
  const keys: HeaderKeys = {}
  for (const name in headers) {
    switch (name.toLowerCase()) {
      case 'content-type':
        keys.type = name
        break
      case 'content-length':
        keys.length = name
        break
      case 'content-encoding':
        keys.encoding = name
        break
      case 'cache-control':
        keys.cacheControl = name
        break
      case 'vary':
        keys.vary = name
        break
      case 'etag':
        keys.etag = name
        break
      case 'content-range':
        keys.range = name
        break
    }
  }
  return keys
}

/**
 * Response compression middleware. Negotiates `Accept-Encoding` (q-values, `*`, `identity`),
 * compresses `ctx.respond` bodies and, on adapters with `ctx.transformBody` (all four built-in
 * ones), the responses the framework writes itself (`res.json`, a Fastify reply, `res.end`, a Next
 * route's `Response`), of compressible types (text, JSON, JS, XML/SVG, SSE) with br,
 * zstd (where the runtime has it) or gzip, adds `Vary: Accept-Encoding`, drops `Content-Length`
 * and weakens a strong `ETag` when it compresses. Streamed bodies are flushed after every chunk,
 * so SSE events are not held back. Left alone: HEAD (it gets the Vary the GET gets),
 * 1xx/204/304, partial responses (206 or Content-Range), bodies under `threshold`, bodies with a
 * `Content-Encoding`, `Cache-Control: no-transform`, other media types.
 * Place it before (outside) the middleware whose responses it should compress. Node only
 * (`node:zlib`).
 */
export function compress(options: CompressOptions = {}): Middleware {
  const o = resolveCompressOptions(options)
  const negotiate = encodingNegotiator(o.encodings)
  return function compressMiddleware(ctx, next) {
    if (!Object.isExtensible(ctx)) return next()
    // HEAD is never compressed, but its headers match GET's: the same Vary: Accept-Encoding.
    const encoding = ctx.method === 'HEAD' ? undefined : negotiate(ctx.header('accept-encoding'))
    hookResponse(ctx, encoding, o)
    return next()
  }
}

function hookResponse(
  ctx: Context,
  encoding: CompressEncoding | undefined,
  o: ResolvedCompressOptions
): void {
  const respond: Respond = ctx.respond
  const setHeader: SetHeader = ctx.setHeader
  const appendHeader: SetHeader = ctx.appendHeader
  const target = ctx as Mutable
  // The headers compress() looks at as set through the Context (not in respond's headers), each
  // as the adapter will send it (a setHeader replaces, an appendHeader joins).
  let ctxEncoding: string | undefined
  let ctxCacheControl: string | undefined
  let ctxRange: string | undefined
  let ctxVary: string | undefined
  let ctxEtag: string | undefined
  // A Content-Encoding, no-transform or Content-Range set through the Context.
  const leaveAlone = (): boolean =>
    (ctxEncoding !== undefined && !isIdentity(ctxEncoding)) ||
    (ctxCacheControl !== undefined && NO_TRANSFORM.test(ctxCacheControl)) ||
    ctxRange !== undefined
  // True once respond() took the response: the head-time hook then leaves it to that path.
  let responded = false
  if (typeof ctx.transformBody === 'function') {
    ctx.transformBody((head) =>
      responded || leaveAlone() ? undefined : transformAtHead(head, encoding, o)
    )
  }
  // Called after the Context's own setHeader / appendHeader, so a value it refuses is not counted.
  const watch = (name: string, value: string, append: boolean): void => {
    switch (name.toLowerCase()) {
      case 'content-encoding':
        ctxEncoding = joined(ctxEncoding, value, append)
        break
      case 'cache-control':
        ctxCacheControl = joined(ctxCacheControl, value, append)
        break
      case 'content-range':
        ctxRange = joined(ctxRange, value, append)
        break
      case 'vary':
        ctxVary = joined(ctxVary, value, append)
        break
      case 'etag':
        ctxEtag = joined(ctxEtag, value, append)
        break
    }
  }
  target.setHeader = (name, value) => {
    setHeader.call(ctx, name, value)
    watch(name, value, false)
  }
  target.appendHeader = (name, value) => {
    appendHeader.call(ctx, name, value)
    watch(name, value, true)
  }
  target.respond = (status, body, headers) => {
    responded = true
    if (
      leaveAlone() ||
      body === undefined ||
      body === null ||
      status === 204 ||
      status === 205 ||
      status === 206 ||
      status === 304
    ) {
      respond.call(ctx, status, body, headers)
      return
    }
    // Normalises like respond() itself (and throws what it throws for a bad status or body).
    const pending = toPendingResponse(status, body, headers)
    const h = pending.headers
    const k = keysOf(h)
    const type = k.type === undefined ? '' : mediaType(h[k.type]!)
    if (
      (k.encoding !== undefined && !isIdentity(h[k.encoding]!)) ||
      (k.cacheControl !== undefined && NO_TRANSFORM.test(h[k.cacheControl]!)) ||
      // Content-Range counts bytes of the identity body: a coded one under it is corrupt.
      k.range !== undefined ||
      !o.filter(type)
    ) {
      respond.call(ctx, status, bodyOf(pending.body), h)
      return
    }
    // The representation depends on Accept-Encoding whether or not this client gets it compressed.
    // respond's Vary and the Context's are merged at the head (`*` absorbs the rest).
    if (k.vary !== undefined) {
      const vary = h[k.vary]!
      if (!ACCEPT_ENCODING.test(vary)) h[k.vary] = mergeVary(vary, 'Accept-Encoding')
    } else if (ctxVary === undefined || !ACCEPT_ENCODING.test(ctxVary)) {
      // Appended, not set: a Vary an outer middleware set before this hook is kept.
      appendHeader.call(ctx, 'Vary', 'Accept-Encoding')
      ctxVary = joined(ctxVary, 'Accept-Encoding', true)
    }
    const compressed =
      encoding === undefined ? undefined : compressBody(pending.body, h, k, encoding, o)
    if (compressed === undefined) {
      respond.call(ctx, status, bodyOf(pending.body), h)
      return
    }
    if (k.length !== undefined) delete h[k.length]
    if (k.encoding !== undefined) delete h[k.encoding]
    h['content-encoding'] = encoding as string
    // Two codings of one body must not share a strong validator (RFC 9110 §8.8.3); respond's
    // ETag wins over the Context's at the head.
    if (k.etag !== undefined) {
      if (h[k.etag]!.startsWith('"')) h[k.etag] = `W/${h[k.etag]}`
    } else if (ctxEtag?.startsWith('"')) {
      ctxEtag = `W/${ctxEtag}`
      setHeader.call(ctx, 'ETag', ctxEtag)
    }
    respond.call(ctx, status, compressed, h)
  }
}

/**
 * The head-time decision for a body the framework writes: the same rules as for `respond` bodies,
 * read from the route's response headers. A body without `Content-Length` is treated like a
 * stream (compressed whatever its size).
 */
function transformAtHead(
  head: ResponseHead,
  encoding: CompressEncoding | undefined,
  o: ResolvedCompressOptions
): CodecTransform | undefined {
  const status = head.status
  if (status < 200 || status === 204 || status === 205 || status === 304) return undefined
  // A range of the identity body (Express sendFile with Range): coding it would corrupt it.
  if (status === 206 || head.getHeader('content-range') !== undefined) return undefined
  const contentEncoding = head.getHeader('content-encoding')
  if (contentEncoding !== undefined && !isIdentity(contentEncoding)) return undefined
  const cacheControl = head.getHeader('cache-control')
  if (cacheControl !== undefined && NO_TRANSFORM.test(cacheControl)) return undefined
  const type = head.getHeader('content-type')
  if (!o.filter(type === undefined ? '' : mediaType(type))) return undefined
  const vary = head.getHeader('vary')
  if (vary === undefined || !ACCEPT_ENCODING.test(vary)) {
    head.setHeader('Vary', mergeVary(vary ?? '', 'Accept-Encoding'))
  }
  if (encoding === undefined) return undefined
  const length = head.getHeader('content-length')
  if (length !== undefined && !(Number(length) >= o.threshold && Number(length) > 0)) {
    return undefined
  }
  head.removeHeader('content-length')
  if (contentEncoding !== undefined) head.removeHeader('content-encoding')
  head.setHeader('Content-Encoding', encoding)
  const etag = head.getHeader('etag')
  if (etag?.startsWith('"')) head.setHeader('ETag', `W/${etag}`)
  return new CodecTransform(encoding, o)
}

/** The compressed body, or undefined when it stays as it is (too small, empty). */
function compressBody(
  body: NormalizedBody,
  headers: Record<string, string>,
  k: HeaderKeys,
  encoding: CompressEncoding,
  o: ResolvedCompressOptions
): ResponseBody {
  switch (body.kind) {
    case 'empty':
      return undefined
    case 'text':
    case 'bytes': {
      const bytes = body.kind === 'text' ? Buffer.from(body.text) : body.bytes
      if (bytes.byteLength < o.threshold || bytes.byteLength === 0) return undefined
      if (bytes.byteLength <= o.syncMaxBytes) return compressSync(encoding, bytes, o)
      return new CompressedStream(oneChunk(bytes), encoding, o)
    }
    case 'stream': {
      const declared = k.length === undefined ? Number.NaN : Number(headers[k.length])
      if (declared < o.threshold) return undefined
      return new CompressedStream(body.stream, encoding, o)
    }
  }
}

/** A normalised body as `respond` takes it again (JSON already serialised: no second stringify). */
function bodyOf(body: NormalizedBody): ResponseBody {
  switch (body.kind) {
    case 'empty':
      return undefined
    case 'text':
      return body.text
    case 'bytes':
      return body.bytes
    case 'stream':
      return body.stream
  }
}

async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}
