/**
 * @module framing-headers
 * The response header fields that belong to the adapter, not to middleware.
 */

/**
 * Header fields `setHeader` refuses: the adapter (and the server under it) decide how the body it
 * writes is framed and what happens to the connection, for every response: `Content-Length` for
 * text, bytes and JSON, chunking for a stream, `Connection: close` when the body is not read.
 * Set beside that framing, a middleware's `Transfer-Encoding` or `Content-Length` sends a body
 * framed twice or wrongly (RFC 9112 §6.2, §6.3: how responses get split and requests smuggled),
 * a `Trailer` makes Node throw while writing the head of a body that is not chunked, and the
 * connection-specific fields (RFC 9110 §7.6.1) describe one connection, not the response. The kit
 * sets none of them through `setHeader`; `respond` drops them from its own headers instead (an
 * upstream's headers are copied there whole), keeping `Connection: close` and, for a stream, a
 * `Content-Length` (see `Context.respond`).
 */
const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'trailer',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'upgrade',
])

/** Whether `lowerName` (in lower case) is one of the fields `setHeader` refuses (see above). */
export function isFramingHeader(lowerName: string): boolean {
  return FRAMING_HEADERS.has(lowerName)
}
