/**
 * @module json-body
 * Hardened JSON body parsing for `ctx.json()`:
 * - the content type must be JSON (`application/json` or `+json`) in UTF-8, else 415 (like
 *   body-parser: a `charset=utf-16` body is refused, not misread);
 * - the bytes must be valid UTF-8 (fatal decoder), else 400;
 * - nesting depth and the total number of object members are checked in one linear scan *before*
 *   `JSON.parse` runs, so a 1 MB `[[[[…` or `{"a":1,"b":1,…}` body is refused without building it;
 * - `__proto__` keys and `constructor.prototype` are refused (400), as Fastify's secure-json-parse
 *   does by default, or stripped on request: a merged body can then never poison prototypes.
 * Every failure is an `AikitError` (400 `INVALID_REQUEST` or 415), never a parser message.
 */
import { InvalidRequestError, UnsupportedMediaTypeError } from './errors.js'

/** Default body limits, used unless the adapter or the call sets others. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576
export const DEFAULT_MAX_JSON_DEPTH = 64
/** Default cap on the number of object members in one JSON body (all objects together). */
export const DEFAULT_MAX_JSON_KEYS = 10_000

/** What to do with a `__proto__` key or a `constructor.prototype` member. */
export type ProtoAction = 'error' | 'remove'

/** Options of `parseJsonBody` beyond the depth limit. */
export interface JsonParseOptions {
  /** Most object members in the whole body. @default 10_000 */
  maxKeys?: number
  /** `error`: 400; `remove`: delete the offending keys. @default 'error' */
  protoAction?: ProtoAction
}

/** The media type of a `Content-Type` value, lower-cased, or '' when absent. */
function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';')
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
}

/**
 * The `charset` parameter of a `Content-Type` value, lower-cased and unquoted, if any: the
 * parameter named exactly `charset` (not `xcharset`, nor `charset=` inside another parameter's
 * quoted value).
 */
function charsetOf(contentType: string): string | undefined {
  const lower = contentType.toLowerCase()
  if (!lower.includes('charset')) return undefined
  for (const [, name, quoted, bare] of lower.matchAll(PARAMETER)) {
    if (name === 'charset') return (quoted ?? bare ?? '').trim()
  }
  return undefined
}

/** One `; name=value` parameter, its value a quoted string (escapes allowed) or a bare token. */
const PARAMETER = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g

/**
 * True for `application/json` and any `application/*+json` type whose charset, if given, is
 * UTF-8 (e.g. `application/csp-report` is not JSON here; `charset=utf-16` is refused).
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const type = mediaType(contentType)
  if (type !== 'application/json' && !(type.startsWith('application/') && type.endsWith('+json'))) {
    return false
  }
  const charset = charsetOf(contentType)
  return charset === undefined || charset === 'utf-8' || charset === 'utf8'
}

/** Throws 415 unless the content type is JSON in UTF-8. */
export function assertJsonContentType(contentType: string | undefined): void {
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError('application/json')
}

/** Deepest bracket nesting of JSON text, ignoring brackets inside strings; stops once over `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  return scanJson(text, limit, Number.POSITIVE_INFINITY) === 'depth'
}

/**
 * One pass over the text, outside strings: bracket depth against `maxDepth`, object members
 * (each `:` is one) against `maxKeys`, and whether a key may need the prototype check (a `"__proto__"`
 * or `"constructor"` spelled out, or any `\u` escape, which could spell them). Malformed text is
 * left to `JSON.parse`; this only has to be right for text that parses.
 */
function scanJson(text: string, maxDepth: number, maxKeys: number): 'depth' | 'keys' | 'ok' {
  let depth = 0
  let keys = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return 'depth'
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--
    else if (c === 58 /* : */ && ++keys > maxKeys) return 'keys'
  }
  return 'ok'
}

/** Cheap test: can the text hold a `__proto__` or `constructor` key at all? */
function mayHoldProtoKeys(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')
}

/**
 * Finds (or removes) `__proto__` keys and `constructor` objects holding `prototype`, at any depth.
 * Returns true when an offending key was found.
 */
function purgeProtoKeys(root: unknown, remove: boolean): boolean {
  // An explicit stack, not recursion: the depth limits allow nesting deeper than the call stack.
  const stack: unknown[] = [root]
  let found = false
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value !== 'object' || value === null) continue
    if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'object' && item !== null) stack.push(item)
      continue
    }
    const obj = value as Record<string, unknown>
    if (Object.hasOwn(obj, '__proto__')) {
      if (!remove) return true
      Reflect.deleteProperty(obj, '__proto__')
      found = true
    }
    const ctor = Object.hasOwn(obj, 'constructor') ? obj.constructor : undefined
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) {
      if (!remove) return true
      Reflect.deleteProperty(obj, 'constructor')
      found = true
    }
    for (const key of Object.keys(obj)) {
      const child = obj[key]
      if (typeof child === 'object' && child !== null) stack.push(child)
    }
  }
  return found
}

/** 400: nested deeper than `maxDepth` (shared by the text and the value checks). */
export function jsonDepthError(maxDepth: number): InvalidRequestError {
  return new InvalidRequestError(`JSON body is nested deeper than ${maxDepth} levels`, {
    details: { maxDepth },
  })
}

/** 400: more than `maxKeys` object members (shared by the text and the value checks). */
export function jsonKeysError(maxKeys: number): InvalidRequestError {
  return new InvalidRequestError(`JSON body has more than ${maxKeys} object members`, {
    details: { maxKeys },
  })
}

/** 400: a `__proto__` key or `constructor.prototype` (shared by the text and the value checks). */
export function jsonProtoKeyError(): InvalidRequestError {
  return new InvalidRequestError(
    'JSON body contains a forbidden key (__proto__ or constructor.prototype)'
  )
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses a JSON body: valid UTF-8, not empty, depth within `maxDepth`, at most `maxKeys` object
 * members, no prototype-poisoning keys. Throws 400 `INVALID_REQUEST` otherwise; the messages name
 * the broken rule, never the input.
 */
export function parseJsonBody(
  bytes: Uint8Array,
  maxDepth: number,
  options: JsonParseOptions = {}
): unknown {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_JSON_KEYS
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw new InvalidRequestError('Request body is not valid UTF-8')
  }
  if (text.trim() === '') throw new InvalidRequestError('Request body is empty')
  const scan = scanJson(text, maxDepth, maxKeys)
  if (scan === 'depth') throw jsonDepthError(maxDepth)
  if (scan === 'keys') throw jsonKeysError(maxKeys)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new InvalidRequestError('Request body is not valid JSON')
  }
  if (mayHoldProtoKeys(text) && purgeProtoKeys(value, options.protoAction === 'remove')) {
    if (options.protoAction !== 'remove') throw jsonProtoKeyError()
  }
  return value
}
