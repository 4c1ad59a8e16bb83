/**
 * @module cache-key
 * The default cache key: the params as JSON with sorted keys (so property order does not matter),
 * hashed with SHA-256 (Node's crypto, else JavaScript for a short request and Web Crypto for a long
 * one: the same digest everywhere, edge-safe), prefixed by the API and the scope. The scope is part of the
 * key, so two tenants never share an answer.
 */
import { sha256Hex as coreSha256Hex } from '@aikit/core/adapter'
import type { LlmCacheKeyFn } from './types.js'

/** `"key":` for each member name seen (names repeat across calls: model, messages, role, …). */
const quotedNames = new Map<string, string>()
/**
 * Longer names are quoted each time, not memoised: names come from request params (`metadata`
 * keys), and a memo entry holds the name and its quoted copy, so a client could pin megabytes each.
 */
const MAX_MEMO_NAME = 256

function quotedName(name: string): string {
  let quoted = quotedNames.get(name)
  if (quoted === undefined) {
    quoted = `${JSON.stringify(name)}:`
    if (name.length > MAX_MEMO_NAME) return quoted
    // Bounded: params with unbounded member names (maps keyed by ids) must not grow it forever.
    if (quotedNames.size >= 1024) quotedNames.clear()
    quotedNames.set(name, quoted)
  }
  return quoted
}

/** One member or element: strings and other scalars go straight to `JSON.stringify`. */
function stringifyMember(value: unknown): string {
  const type = typeof value
  if (type === 'string' || type === 'number' || type === 'boolean' || value === null) {
    return JSON.stringify(value)
  }
  return stableStringify(value)
}

/** JSON with object keys sorted at every level (`undefined` members dropped, as JSON does). */
export function stableStringify(value: unknown): string {
  // One string built in place (no per-level arrays and joins): this runs on every call that
  // coalesces or caches, so it is on the hot path of a cache miss.
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  // As the request body has it: the SDKs send `JSON.stringify(params)`, which writes a URL or a
  // Date as its `toJSON()` text. Hashed as an object (no own keys: `{}`), every URL had one key.
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return stableStringify(toJSON.call(value))
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      // A hole stays empty, as `map` + `join` made it (keys already stored must not change).
      if (i in value) out += stringifyMember(value[i])
    }
    return `${out}]`
  }
  const rec = value as Record<string, unknown>
  const keys = Object.keys(rec)
  const n = keys.length
  // Insertion sort: params objects have a handful of keys, where it beats `Array#sort`. `>` on
  // strings compares UTF-16 code units, exactly as the default sort does (same order, same keys).
  for (let i = 1; i < n; i++) {
    const k = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = k
  }
  let out = '{'
  let first = true
  for (let i = 0; i < n; i++) {
    const k = keys[i] as string
    const v = rec[k]
    if (v === undefined || typeof v === 'function') continue
    if (first) first = false
    else out += ','
    out += quotedName(k) + stringifyMember(v)
  }
  return `${out}}`
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

// Core's `sha256Hex` is Node's one-shot hash where the runtime has it (every length, no promise),
// else JavaScript. Without Node's crypto, long requests go to Web Crypto instead (faster per byte
// than JavaScript). The lookup is core's, without a `node:` import, so the module stays edge-safe.
const nativeHash =
  typeof (
    (
      globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
    ).process?.getBuiltinModule?.('node:crypto') as { hash?: unknown } | undefined
  )?.hash === 'function'

/** Without Node's crypto, the longest request hashed in JavaScript. */
const SMALL_TEXT_MAX = 4096

/**
 * Digests of the request texts hashed last: a repeated request (a cache hit's case, or a flight's
 * joiner) looks its digest up instead of hashing again. Bounded in entries and characters, then
 * emptied at once (no order kept per lookup); only texts V8 hashes by their whole content (up to
 * 16,383 characters) go in, so a lookup costs one pass over the text, as the hash would.
 */
const recentDigests = new Map<string, string>()
let recentChars = 0
const RECENT_TEXT_MAX = 16_383
const RECENT_ENTRIES_MAX = 2048
const RECENT_CHARS_MAX = 1 << 19

/** SHA-256 hex of `text` without a promise, or `undefined` (a long text and no Node crypto). */
function sha256HexSync(text: string): string | undefined {
  const remembered = text.length <= RECENT_TEXT_MAX
  if (remembered) {
    const known = recentDigests.get(text)
    if (known !== undefined) return known
  }
  if (!nativeHash && text.length > SMALL_TEXT_MAX) return undefined
  const digest = coreSha256Hex(text)
  if (remembered) {
    if (recentDigests.size >= RECENT_ENTRIES_MAX || recentChars + text.length > RECENT_CHARS_MAX) {
      recentDigests.clear()
      recentChars = 0
    }
    recentDigests.set(text, digest)
    recentChars += text.length
  }
  return digest
}

async function sha256Hex(text: string): Promise<string> {
  const sync = sha256HexSync(text)
  if (sync !== undefined) return sync
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  let out = ''
  for (const byte of new Uint8Array(digest)) out += HEX[byte]
  return out
}

/** The default key from the params already serialised with `stableStringify`. */
export async function keyFromJson(json: string, scope: string, api: string): Promise<string> {
  return keyFromJsonSync(json, scope, api) ?? `${keyPrefix(scope, api)}${await sha256Hex(json)}`
}

/**
 * The same key without a promise where it can be hashed synchronously (a short request anywhere,
 * any request on Node); `undefined` otherwise (Web Crypto is async only): a cache miss then skips
 * a promise hop.
 */
export function keyFromJsonSync(json: string, scope: string, api: string): string | undefined {
  const hash = sha256HexSync(json)
  return hash === undefined ? undefined : `${keyPrefix(scope, api)}${hash}`
}

// The last prefix built: a client usually serves one scope after another of a few (one per call
// is the worst case, the same work as before).
let lastPrefix = { scope: '', api: '', prefix: 'llm:::' }

function keyPrefix(scope: string, api: string): string {
  if (lastPrefix.scope === scope && lastPrefix.api === api) return lastPrefix.prefix
  const prefix = `llm:${api}:${encodeScope(scope)}:`
  lastPrefix = { scope, api, prefix }
  return prefix
}

const LONE_SURROGATE = /([\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/

/**
 * `encodeURIComponent`, which throws a `URIError` on a lone surrogate (a subject decoded from JSON
 * can hold one): each is written `%uD800` instead, as the store's keys write it. Still one key per
 * scope (`toWellFormed()` would make every lone surrogate U+FFFD, one key for distinct subjects):
 * `encodeURIComponent` writes a `%` of the scope as `%25`, so no scope's text has `%u`.
 */
function encodeScope(scope: string): string {
  if ((scope as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    return encodeURIComponent(scope)
  }
  // Split with a capture: the well-formed runs at even indices, the lone surrogates at odd ones.
  return scope
    .split(LONE_SURROGATE)
    .map((part, i) =>
      i % 2 === 0 ? encodeURIComponent(part) : `%u${part.charCodeAt(0).toString(16).toUpperCase()}`
    )
    .join('')
}

/**
 * `llm:<api>:<scope>:<sha-256 hex>`; the scope is URI-encoded (a lone surrogate as `%uD800`) so it
 * cannot forge another prefix.
 */
export const defaultCacheKey: LlmCacheKeyFn = (params, { scope, api }) =>
  keyFromJson(stableStringify(params), scope, api)
