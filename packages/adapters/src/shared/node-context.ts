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
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { AikitError, InvalidRequestError, PayloadTooLargeError } from '@aikit/core'
import {
  BaseContext,
  combineHeader,
  type PendingResponse,
  type ResolvedAdapterOptions,
} from '@aikit/core/adapter'

/**
 * Adds the middleware's headers at the head: the route's own header of the same name wins (one it
 * set on the response, or one passed to `writeHead` itself, as Fastify does), except `Vary` and
 * `Set-Cookie`, which are merged (see core's `combineHeader`).
 */
function applyPendingHeaders(
  res: ServerResponse,
  args: unknown[],
  headers: Iterable<[string, string]>
): void {
  const passed = headersArgument(args)
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    const passedKey = passed === undefined ? undefined : findKey(passed, lower)
    if (passedKey !== undefined && passed !== undefined) {
      const merged = combineHeader(lower, passed[passedKey] as string | string[], value)
      if (merged !== undefined) passed[passedKey] = merged
      continue
    }
    const merged = combineHeader(lower, res.getHeader(name) as string | string[] | undefined, value)
    if (merged !== undefined) res.setHeader(name, merged)
  }
}

/** The headers object given to `writeHead(status[, message], headers)`, if any (not raw arrays). */
function headersArgument(args: unknown[]): Record<string, unknown> | undefined {
  for (let i = 1; i < args.length && i < 3; i++) {
    const a = args[i]
    if (typeof a === 'object' && a !== null && !Array.isArray(a))
      return a as Record<string, unknown>
  }
  return undefined
}

function findKey(headers: Record<string, unknown>, lower: string): string | undefined {
  if (lower in headers) return lower
  for (const key of Object.keys(headers)) if (key.toLowerCase() === lower) return key
  return undefined
}

type StreamBody = ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>
type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse

const EMPTY = new Uint8Array(0)

function noop(): void {}

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
  private headWaiter: Promise<void> | undefined = undefined
  private releaseHead: (() => void) | undefined = undefined
  private closed = false
  private watching = false

  constructor(req: IncomingMessage, res: ServerResponse, options: ResolvedAdapterOptions) {
    super(options)
    this.req = req
    this.res = res
    // One closure per request for the head hook (as on-headers does); it keeps the previous
    // writeHead so that several hooks (two adapters, on-headers itself) chain correctly.
    const prev = res.writeHead as unknown as WriteHead
    const ctx = this
    ;(res as unknown as { writeHead: WriteHead }).writeHead = function writeHead(
      this: ServerResponse,
      ...args: unknown[]
    ): ServerResponse {
      if (!ctx.headWritten) {
        const status = typeof args[0] === 'number' ? args[0] : this.statusCode
        const headers = ctx.beforeHead(status)
        if (headers !== undefined) applyPendingHeaders(this, args, headers)
      }
      try {
        return prev.apply(this, args)
      } finally {
        ctx.headDone()
      }
    }
  }

  /** Starts listening for the response's 'close' (once): only when `finished`, `signal` or the
   * route's head is awaited, so a request nobody observes adds no listener. 'close' follows
   * 'finish' on every ServerResponse, so one listener tells a complete response from a client gone. */
  protected override watchLifecycle(): void {
    if (this.watching) return
    this.watching = true
    const res = this.res
    if (res.writableFinished || res.destroyed) {
      this.onResponseClose()
      return
    }
    res.once('close', () => this.onResponseClose())
  }

  get method(): string {
    return this.req.method ?? 'GET'
  }

  get path(): string {
    if (this.urlPath === undefined) this.splitUrl()
    return this.urlPath as string
  }

  get query(): string {
    if (this.urlPath === undefined) this.splitUrl()
    return this.urlQuery
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()]
    if (value === undefined || typeof value === 'string') return value
    return value.join(', ')
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

  protected readBody(maxBytes: number): Promise<Uint8Array> {
    this.bodyStarted = true
    const req = this.req
    const encoding = req.headers['content-encoding']
    if (encoding !== undefined && encoding !== '' && encoding.trim().toLowerCase() !== 'identity') {
      // Decoding would need a second, decoded-size limit and a copy for the framework's own
      // parser; refusing is the safe choice.
      return Promise.reject(
        new AikitError('UNSUPPORTED_MEDIA_TYPE', 415, 'Content-Encoding is not supported', {
          details: { contentEncoding: encoding },
        })
      )
    }
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > maxBytes) {
      this.closeAfterResponse()
      return Promise.reject(new PayloadTooLargeError(maxBytes))
    }
    if (req.readableEnded || (req.complete && !req.readable)) {
      // Already consumed by someone else: nothing left to read.
      return Promise.resolve(EMPTY)
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      const cleanup = (): void => {
        req.off('data', onData)
        req.off('end', onEnd)
        req.off('error', onError)
        req.off('close', onClose)
      }
      const onData = (chunk: Buffer | string): void => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        size += buf.byteLength
        if (size > maxBytes) {
          cleanup()
          req.pause()
          this.closeAfterResponse()
          reject(new PayloadTooLargeError(maxBytes))
          return
        }
        chunks.push(buf)
      }
      const onEnd = (): void => {
        cleanup()
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
      }
      const onError = (): void => {
        cleanup()
        this.markClientGone()
        reject(new InvalidRequestError('The request body was not fully received'))
      }
      const onClose = (): void => {
        if (!req.complete) onError()
      }
      req.on('data', onData)
      req.on('end', onEnd)
      req.on('error', onError)
      req.on('close', onClose)
    })
  }

  protected writeResponse(response: PendingResponse): Promise<void> {
    const res = this.res
    if (res.headersSent || res.destroyed || res.writableEnded) return Promise.resolve()
    res.statusCode = response.status
    const headers = response.headers
    for (const name in headers) res.setHeader(name, headers[name]!)
    const body = response.body
    switch (body.kind) {
      case 'empty':
        res.end()
        break
      case 'text':
      case 'bytes': {
        const bytes = body.kind === 'text' ? Buffer.from(body.text) : body.bytes
        if (!res.hasHeader('content-length')) res.setHeader('content-length', bytes.byteLength)
        res.end(bytes)
        break
      }
      case 'stream':
        this.writeStream(body.stream)
        break
    }
    return Promise.resolve()
  }

  /** Writes the head now (so a streaming client sees it at once) and pumps the body behind it. */
  protected writeStream(stream: StreamBody): void {
    const res = this.res
    res.writeHead(res.statusCode)
    res.flushHeaders()
    void pump(this, res, stream, this.method === 'HEAD')
  }

  /** Asks Node to close the connection after the response instead of reading an unwanted body. */
  protected closeAfterResponse(): void {
    if (!this.res.headersSent) this.res.setHeader('connection', 'close')
  }

  private headDone(): void {
    const release = this.releaseHead
    if (release !== undefined) {
      this.releaseHead = undefined
      release()
    }
  }

  private onResponseClose(): void {
    this.closed = true
    // 'close' without a completed write means the client went away (or the response was destroyed).
    this.markFinished(!this.res.writableFinished)
    this.headDone()
  }

  private splitUrl(): void {
    let url = this.rawUrl()
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (`GET http://host/path`): drop the scheme and authority
      const scheme = url.indexOf('://')
      if (scheme !== -1) {
        const slash = url.indexOf('/', scheme + 3)
        url = slash === -1 ? '/' : url.slice(slash)
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

/**
 * Pumps a stream body into the response with backpressure. Strings are UTF-8 encoded. When the
 * client goes away the source is cancelled (`reader.cancel()` / `iterator.return()`); an error in
 * the source destroys the response and is reported through `ctx.fail` (which calls `onError`).
 */
export async function pump(
  ctx: { fail(error: unknown): void },
  res: ServerResponse,
  stream: StreamBody,
  headOnly: boolean
): Promise<void> {
  let read: () => Promise<IteratorResult<Uint8Array | string>>
  let cancel: () => void
  if (typeof (stream as ReadableStream).getReader === 'function') {
    const reader = (stream as ReadableStream<Uint8Array | string>).getReader()
    read = () => reader.read() as Promise<IteratorResult<Uint8Array | string>>
    cancel = () => {
      reader.cancel().catch(noop)
    }
  } else {
    const iterator = (stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
    read = () => iterator.next()
    cancel = () => {
      if (typeof iterator.return === 'function') {
        Promise.resolve()
          .then(() => iterator.return?.())
          .catch(noop)
      }
    }
  }
  let settled = false
  const onClose = (): void => {
    if (settled) return
    settled = true
    cancel()
  }
  if (headOnly || res.destroyed) {
    onClose()
    if (!res.destroyed) res.end()
    return
  }
  res.once('close', onClose)
  try {
    for (;;) {
      const result = await read()
      if (settled) return
      if (result.done) break
      const value = result.value
      const chunk = typeof value === 'string' ? Buffer.from(value) : value
      if (chunk.byteLength === 0) continue
      if (!res.write(chunk)) {
        await drained(res)
        if (settled) return
      }
    }
    settled = true
    res.off('close', onClose)
    res.end()
  } catch (error) {
    if (settled) return
    settled = true
    res.off('close', onClose)
    ctx.fail(error)
    res.destroy()
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
