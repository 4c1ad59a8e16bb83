import type { IncomingMessage } from 'node:http'

/**
 * Whether a string body-parser left in `req.body` is the raw body text (`express.text()`) rather
 * than a parsed JSON string (`express.json({ strict: false })` turns the body `"hello"` into
 * `hello`). body-parser marks neither parser's output, so the declared `Content-Length` of an
 * unencoded body decides: raw text re-encodes to the body's own length (more when invalid UTF-8
 * bytes became U+FFFD; 3 bytes less when a BOM was stripped), while a parsed string is always at
 * least its two quotes shorter. Without a usable length (chunked or compressed body) the string is
 * taken for raw text, as before.
 */
export function isRawBodyText(req: IncomingMessage, text: string): boolean {
  const length = declaredLength(req)
  if (length === undefined) return true
  const bytes = Buffer.byteLength(text)
  if (bytes >= length) return true
  // A stripped BOM: raw text 3 bytes short of the body; a parsed string that short is rarely JSON.
  return bytes === length - 3 && isJsonText(text)
}

/** The `Content-Length` of a body sent without a `Content-Encoding` (body-parser inflates those). */
function declaredLength(req: IncomingMessage): number | undefined {
  const encoding = req.headers['content-encoding']
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return undefined
  const header = req.headers['content-length']
  if (header === undefined || !/^\d+$/.test(header)) return undefined
  return Number(header)
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
