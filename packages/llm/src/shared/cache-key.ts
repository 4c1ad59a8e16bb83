/**
 * @module cache-key
 * The default cache key: the params as JSON with sorted keys (so property order does not matter),
 * hashed with SHA-256 through Web Crypto (edge-safe), prefixed by the API and the scope. The scope
 * is part of the key, so two tenants never share an answer.
 */
import type { LlmCacheKeyFn } from './types.js'

/** JSON with object keys sorted at every level (`undefined` members dropped, as JSON does). */
export function stableStringify(value: unknown): string {
  // One string built in place (no per-level arrays and joins): this runs on every call that
  // coalesces or caches, so it is on the hot path of a cache miss.
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      // A hole stays empty, as `map` + `join` made it (keys already stored must not change).
      if (i in value) out += stableStringify(value[i])
    }
    return `${out}]`
  }
  const rec = value as Record<string, unknown>
  const keys = Object.keys(rec)
  if (keys.length > 1) keys.sort()
  let out = '{'
  let first = true
  for (const k of keys) {
    const v = rec[k]
    if (v === undefined || typeof v === 'function') continue
    if (!first) out += ','
    first = false
    out += `${JSON.stringify(k)}:${stableStringify(v)}`
  }
  return `${out}}`
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

type NodeCrypto = {
  createHash(algorithm: 'sha256'): { update(text: string): { digest(encoding: 'hex'): string } }
}

// Node's own hash is ~20x cheaper than a Web Crypto round trip for small inputs; it is reached
// without a `node:` import (as @aikit/core does for AsyncLocalStorage) so the module stays edge-safe.
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined

async function sha256Hex(text: string): Promise<string> {
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(text).digest('hex')
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
 * The same key without a promise where the runtime hashes synchronously (Node); `undefined`
 * elsewhere (Web Crypto is async only): a cache miss then skips a promise hop.
 */
export function keyFromJsonSync(json: string, scope: string, api: string): string | undefined {
  if (!nodeCrypto) return undefined
  return `${keyPrefix(scope, api)}${nodeCrypto.createHash('sha256').update(json).digest('hex')}`
}

const keyPrefix = (scope: string, api: string): string => `llm:${api}:${encodeURIComponent(scope)}:`

/** `llm:<api>:<scope>:<sha-256 hex>`; the scope is URI-encoded so it cannot forge another prefix. */
export const defaultCacheKey: LlmCacheKeyFn = (params, { scope, api }) =>
  keyFromJson(stableStringify(params), scope, api)
