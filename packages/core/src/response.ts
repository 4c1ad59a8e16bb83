/**
 * @module response
 * Normalises what `ctx.respond` accepts into one shape the adapters write.
 */
import { AikitError, errorBody, errorHeaders, errorStatus } from './errors.js'
import type { ResponseBody } from './types.js'

/** A response body ready for an adapter to write. */
export type NormalizedBody =
  | { kind: 'empty' }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'stream'; stream: StreamSource }

/** A response recorded by `ctx.respond`, written by the adapter when the head is committed. */
export interface PendingResponse {
  status: number
  /** Headers given to `respond` (a content type is filled in for text, bytes and JSON). */
  headers: Record<string, string>
  body: NormalizedBody
}

const TEXT = 'text/plain; charset=utf-8'
const JSON_TYPE = 'application/json; charset=utf-8'
const BYTES = 'application/octet-stream'

/**
 * Connection-specific header fields (RFC 9110 §7.6.1): they describe one connection and the
 * framing of the message on it, which the adapter (and the server under it) decide for the body
 * they write. `Connection` is handled apart (see `frameHeaders`).
 */
const CONNECTION_SPECIFIC = new Set([
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'proxy-connection',
  'te',
])

/**
 * Removes from `respond` headers (already a copy) the connection-specific ones, and tells whether
 * a content type is among them. Headers copied from an upstream `fetch` Response carry
 * `Transfer-Encoding: chunked`: sent next to the Content-Length the adapter sets, the body would
 * be framed twice (RFC 9112 §6.2 forbids it; a proxy in front may frame it the other way, which
 * is how responses get split). `Connection` goes too, along with the fields it names (RFC 9110
 * §7.6.1), except its `close` option: a response may still ask for the connection to be closed.
 */
function frameHeaders(h: Record<string, string>): boolean {
  let typed = false
  let connection: string | undefined
  for (const k in h) {
    const lower = k.toLowerCase()
    if (lower === 'content-type') typed = true
    else if (lower === 'connection') {
      connection = connection === undefined ? h[k]! : `${connection},${h[k]!}`
      delete h[k]
    } else if (CONNECTION_SPECIFIC.has(lower)) delete h[k]
  }
  if (connection !== undefined) {
    let close = false
    for (const token of connection.split(',')) {
      const option = token.trim().toLowerCase()
      if (option === 'close') close = true
      else if (option !== '') {
        for (const k in h) {
          if (k.toLowerCase() !== option) continue
          if (option === 'content-type') typed = false
          delete h[k]
        }
      }
    }
    if (close) h.connection = 'close'
  }
  return typed
}

type StreamSource = ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>

/** A `ReadableStream` or an async iterable (what `respond` streams). */
function isStream(body: ResponseBody): body is StreamSource {
  return (
    typeof (body as ReadableStream).getReader === 'function' ||
    typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

/** Builds a `PendingResponse`; throws for a status outside 200-599 or a body JSON cannot encode. */
export function toPendingResponse(
  status: number,
  body: ResponseBody,
  headers: Record<string, string> | undefined
): PendingResponse {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new AikitError(
      'INVALID_STATUS',
      500,
      `respond() got an invalid status: ${String(status)}`
    )
  }
  const h: Record<string, string> = headers ? { ...headers } : {}
  let normalized: NormalizedBody
  let type: string | undefined
  if (body === undefined || body === null) {
    normalized = { kind: 'empty' }
  } else if (status === 204 || status === 205 || status === 304) {
    // These carry no content (RFC 9110 §15.3.5, §15.3.6, §15.4.5): the body is never written, and
    // a stream given with them (an upstream's body) is released now, as any unwritten one is.
    normalized = { kind: 'empty' }
    if (isStream(body)) cancelBody({ kind: 'stream', stream: body })
  } else if (typeof body === 'string') {
    normalized = { kind: 'text', text: body }
    type = TEXT
  } else if (body instanceof Uint8Array) {
    normalized = { kind: 'bytes', bytes: body }
    type = BYTES
  } else if (body instanceof ArrayBuffer) {
    normalized = { kind: 'bytes', bytes: new Uint8Array(body) }
    type = BYTES
  } else if (isStream(body)) {
    normalized = { kind: 'stream', stream: body }
    type = BYTES
  } else {
    normalized = { kind: 'text', text: JSON.stringify(body) }
    type = JSON_TYPE
  }
  const typed = frameHeaders(h)
  if (type !== undefined && !typed) h['content-type'] = type
  return { status, headers: h, body: normalized }
}

function noop(): void {}

/**
 * Releases a stream body that will never be read (`reader.cancel()` / `iterator.return()`): a
 * pending response replaced before it was written. Text, bytes and empty bodies hold nothing.
 */
export function cancelBody(body: NormalizedBody): void {
  if (body.kind !== 'stream') return
  const s = body.stream
  try {
    if (typeof (s as ReadableStream).getReader === 'function') {
      // Rejects (caught) when a reader holds it: the reader's owner releases it then.
      ;(s as ReadableStream).cancel().catch(noop)
      return
    }
    const iterator = (s as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    if (typeof iterator.return === 'function') Promise.resolve(iterator.return()).catch(noop)
  } catch {
    // A source that fails to release itself changes nothing for the response.
  }
}

/**
 * The JSON error response for any thrown value: no stack, no message of a non-kit error, and the
 * error's own headers (`errorHeaders`: `Retry-After` for a store outage or a rate limit).
 */
export function errorResponse(error: unknown): PendingResponse {
  return {
    status: errorStatus(error),
    headers: { ...errorHeaders(error), 'content-type': JSON_TYPE, 'cache-control': 'no-store' },
    body: { kind: 'text', text: JSON.stringify(errorBody(error)) },
  }
}
