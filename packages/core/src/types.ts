/**
 * @module types
 * The middleware protocol shared by every package and adapter.
 */

/**
 * Per-request values, typed. An open interface: each package adds its fields by declaration
 * merging (`declare module '@aikit/core' { interface AikitState { requestId?: string } }`),
 * so `ctx.state.requestId` is typed wherever that package is imported.
 */
export interface AikitState {
  /** The user or tenant the request acts for (budgets, cache scope, rate-limit key). */
  subject?: string
}

/** What `ctx.finished` resolves with. */
export interface FinishInfo {
  /** True when the client went away before the whole body was sent. */
  aborted: boolean
}

/** A body `respond` accepts: text, bytes, a Web stream, an async iterable (streamed), or JSON. */
export type ResponseBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | null
  | undefined
  | object
  | number
  | boolean

/** Limits applied when the body is read. */
export interface BodyLimits {
  /** Largest body in bytes. @default the adapter's `maxBodyBytes` (1_048_576, 1 MiB, unless set) */
  maxBytes?: number
  /** Deepest nesting of objects/arrays in a JSON body. @default the adapter's `maxJsonDepth` (64 unless set) */
  maxDepth?: number
  /** Most object members in a JSON body (all objects together). @default the adapter's `maxJsonKeys` (10_000 unless set) */
  maxKeys?: number
}

/**
 * The response head as a body transform factory sees it, at head time: the final status and the
 * route's own response headers (middleware headers already added), still editable.
 */
export interface ResponseHead {
  /** The status the head is written with. */
  readonly status: number
  /** A response header, case-insensitive; several values are joined with `, `. */
  getHeader(name: string): string | undefined
  /** Sets (replaces) a response header. */
  setHeader(name: string, value: string): void
  /** Removes a response header (e.g. `Content-Length` when the body changes size). */
  removeHeader(name: string): void
}

/**
 * A byte transform over a response body the framework writes itself (compression). The adapter
 * calls it in order, never concurrently (it waits for a returned promise before the next call), and
 * sends each result at once: `write` must return everything it can for that chunk (flushed), so a
 * streamed body (SSE) is not held back.
 */
export interface BodyTransform {
  /** Transforms one chunk of the body; the output may be empty. */
  write(chunk: Uint8Array): Uint8Array | Promise<Uint8Array>
  /** The body ends, with its last chunk if any (the whole body when nothing was written before). */
  end(last?: Uint8Array): Uint8Array | Promise<Uint8Array>
  /** The response was abandoned (client gone, error): release what the transform holds. */
  abort(): void
}

/** Decides at head time whether to transform the body: a transform, or `undefined` to leave it. */
export type BodyTransformFactory = (head: ResponseHead) => BodyTransform | undefined

/** The request as every middleware sees it, whatever the framework underneath. */
export interface Context {
  /** Upper-case HTTP method. */
  readonly method: string
  /** URL path without the query string. */
  readonly path: string
  /** Raw query string without the leading `?` (empty when none). */
  readonly query: string
  /** A request header, case-insensitive; several values are joined with `, `. */
  header(name: string): string | undefined
  /** The client IP, resolved through the adapter's `trustProxy` setting. */
  readonly ip: string | undefined
  /**
   * The JSON body, read and parsed once (later calls return the same value). Requires a JSON
   * content type (415 otherwise); rejects bodies over `maxBytes` (413) or malformed / too deep (400).
   */
  json<T = unknown>(limits?: BodyLimits): Promise<T>
  /**
   * Sets a response header, added to whatever response is sent (also the kit's own errors).
   * The framing and connection headers are the adapter's and are refused (`INVALID_HEADER`):
   * `Content-Length`, `Transfer-Encoding`, `Trailer`, `Connection` (but `Connection: close`,
   * which asks the server to close the connection after the response), `Keep-Alive`,
   * `Proxy-Connection`, `TE`, `Upgrade`. Pass a length with a `respond` stream in `respond`'s
   * headers.
   */
  setHeader(name: string, value: string): void
  /** Appends a value to a response header (comma-joined), e.g. `Vary`; refuses as `setHeader`. */
  appendHeader(name: string, value: string): void
  /**
   * Ends the request with this response; downstream middleware and the route do not run.
   *
   * The adapter frames the body itself (Content-Length for text, bytes and JSON; the server's
   * chunking for a stream without one), so the connection-specific headers (RFC 9110 §7.6.1) are
   * dropped from `headers`: `Transfer-Encoding`, `Keep-Alive`, `Upgrade`, `Proxy-Connection`, `TE`,
   * and `Connection` with the fields it names, except its `close` option (kept as
   * `Connection: close`). Dropped rather than refused: headers copied from an upstream `fetch`
   * Response carry `Transfer-Encoding`, and the body must not be framed twice (RFC 9112 §6.2).
   *
   * A `Content-Length` given with a stream is kept and enforced: a stream that would run past it
   * is cut off first and one that ends short of it is not ended as complete; either way the
   * connection is destroyed (the response is broken) and `onError` gets `CONTENT_LENGTH_MISMATCH`.
   * So a proxied upstream's `Content-Length` must match the bytes of the stream given: a `fetch()`
   * body is decoded, so drop `Content-Length` and `Content-Encoding` when copying its headers. An
   * empty body is sent with `Content-Length: 0` (a given one is kept for HEAD, 204 and 304).
   *
   * A stream body belongs to the kit from here on: it is cancelled (`reader.cancel()` /
   * `iterator.return()`) when the client goes away, when it will never be written (the client left
   * before it was handed over, or the status is 204, 205 or 304), and when a later `respond` or a
   * thrown error replaces it.
   */
  respond(status: number, body?: ResponseBody, headers?: Record<string, string>): void
  /** The final status, once known: after `await next()` or inside `onHeaders`. */
  readonly status: number | undefined
  /** The error that ended the request, if a middleware or the route threw. */
  readonly error: unknown
  /** Per-request values, typed by declaration merging. */
  readonly state: AikitState
  /** Aborts when the client goes away: pass it to the LLM call to stop paying for it. */
  readonly signal: AbortSignal
  /** Runs just before the head is written; `ctx.status` is final and headers can still be set. */
  onHeaders(fn: () => void): void
  /** Resolves when the body is fully sent or the client aborted. Never rejects. */
  readonly finished: Promise<FinishInfo>
  /** True once the response head has been written. */
  readonly headersSent: boolean
  /**
   * Registers a body transform for the response the framework writes itself (Express `res.send`,
   * a Fastify reply, node:http `res.end`, a Next route's `Response`) and for `respond` bodies: the
   * adapter calls `factory` once, at head time, after `onHeaders`. Several are chained as the
   * middleware nest: the one registered last (innermost) sees the route's head and bytes first, and
   * each earlier one takes its output (a cache inside `compress()` records the plain body).
   * For a HEAD the framework answers, the factory is called with the head alone (its headers are
   * the GET's: `compress()` adds the same `Vary`), and a transform it returns is aborted unused.
   * Optional: an adapter that cannot transform bodies does not have it.
   */
  transformBody?(factory: BodyTransformFactory): void
}

/** The continuation a middleware calls to run the rest of the chain. */
export type Next = () => Promise<void>

/**
 * A middleware: read the request, set headers, short-circuit with `ctx.respond`, or
 * `await next()` (resolves once the head is written) and then observe `ctx.status`.
 */
export type Middleware = (ctx: Context, next: Next) => Promise<void>
