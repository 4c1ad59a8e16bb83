/**
 * @module redact-bytes
 * Redacting a `Uint8Array` (a Node `Buffer` included) holding UTF-8 text: a JSON logger writes its
 * bytes (`{"type":"Buffer","data":[…]}`), inspect their hex, so a key in it is a decode away. Its
 * text is redacted as a string is; when that changes it, the copy is the redacted text's bytes, of
 * the same class. Bytes that are not UTF-8 (an image, a hash) are kept as they are.
 */
import { MIN_SCAN_LENGTH } from './redact-patterns.js'
import type { RedactWalker } from './redact-walker.js'

const NodeBuffer = (globalThis as { Buffer?: { from(bytes: Uint8Array): Uint8Array } }).Buffer
const isNodeBuffer = (value: Uint8Array): boolean =>
  NodeBuffer !== undefined && value instanceof (NodeBuffer as unknown as typeof Uint8Array)
const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8Encoder = new TextEncoder()

export function walkBytes(w: RedactWalker, bytes: Uint8Array): unknown {
  if (!w.scans || bytes.length < MIN_SCAN_LENGTH) return bytes
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return bytes
  }
  const out = w.redactString(text)
  if (out === text) return bytes
  const encoded = utf8Encoder.encode(out)
  return isNodeBuffer(bytes)
    ? (NodeBuffer as { from(b: Uint8Array): Uint8Array }).from(encoded)
    : encoded
}
