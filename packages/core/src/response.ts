/**
 * @module response
 * Normalises what `ctx.respond` accepts into one shape the adapters write.
 */
import { AikitError, errorBody, errorStatus } from './errors.js'
import type { ResponseBody } from './types.js'

/** A response body ready for an adapter to write. */
export type NormalizedBody =
  | { kind: 'empty' }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | {
      kind: 'stream'
      stream: ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>
    }

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

function hasContentType(headers: Record<string, string>): boolean {
  for (const k in headers) if (k.toLowerCase() === 'content-type') return true
  return false
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
  // 204, 205 and 304 carry no content (RFC 9110 §15.3.5, §15.3.6, §15.4.5).
  if (body === undefined || body === null || status === 204 || status === 205 || status === 304) {
    normalized = { kind: 'empty' }
  } else if (typeof body === 'string') {
    normalized = { kind: 'text', text: body }
    type = TEXT
  } else if (body instanceof Uint8Array) {
    normalized = { kind: 'bytes', bytes: body }
    type = BYTES
  } else if (body instanceof ArrayBuffer) {
    normalized = { kind: 'bytes', bytes: new Uint8Array(body) }
    type = BYTES
  } else if (
    typeof (body as ReadableStream).getReader === 'function' ||
    typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  ) {
    normalized = {
      kind: 'stream',
      stream: body as ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>,
    }
    type = BYTES
  } else {
    normalized = { kind: 'text', text: JSON.stringify(body) }
    type = JSON_TYPE
  }
  if (type !== undefined && !hasContentType(h)) h['content-type'] = type
  return { status, headers: h, body: normalized }
}

/** The JSON error response for any thrown value: no stack, no message of a non-kit error. */
export function errorResponse(error: unknown): PendingResponse {
  return {
    status: errorStatus(error),
    headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store' },
    body: { kind: 'text', text: JSON.stringify(errorBody(error)) },
  }
}
