/**
 * @module json-body
 * JSON body parsing with a nesting-depth limit checked before `JSON.parse` runs, so a
 * 1 MB `[[[[…` body is rejected in one linear scan instead of building a deep structure.
 */
import { InvalidRequestError, UnsupportedMediaTypeError } from './errors.js'

/** Default body limits, used unless the adapter or the call sets others. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576
export const DEFAULT_MAX_JSON_DEPTH = 64

/** True for `application/json` and any `+json` type (e.g. `application/csp-report` is not). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const semi = contentType.indexOf(';')
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

/** Throws 415 unless the content type is JSON. */
export function assertJsonContentType(contentType: string | undefined): void {
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError('application/json')
}

/** Deepest bracket nesting of JSON text, ignoring brackets inside strings; stops once over `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--
  }
  return false
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/** Parses a JSON body: valid UTF-8, not empty, depth within `maxDepth`. Throws 400 otherwise. */
export function parseJsonBody(bytes: Uint8Array, maxDepth: number): unknown {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw new InvalidRequestError('Request body is not valid UTF-8')
  }
  if (text.trim() === '') throw new InvalidRequestError('Request body is empty')
  if (jsonDepthExceeds(text, maxDepth)) {
    throw new InvalidRequestError(`JSON body is nested deeper than ${maxDepth} levels`, {
      details: { maxDepth },
    })
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidRequestError('Request body is not valid JSON')
  }
}
