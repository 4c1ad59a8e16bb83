/**
 * @module cache-key
 * The default cache key: the params as JSON with sorted keys (so property order does not matter),
 * hashed with SHA-256 through Web Crypto (edge-safe), prefixed by the API and the scope. The scope
 * is part of the key, so two tenants never share an answer.
 */
import type { LlmCacheKeyFn } from './types.js'

/** JSON with object keys sorted at every level (`undefined` members dropped, as JSON does). */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`
  const rec = value as Record<string, unknown>
  const parts: string[] = []
  for (const k of Object.keys(rec).sort()) {
    if (rec[k] === undefined || typeof rec[k] === 'function') continue
    parts.push(`${JSON.stringify(k)}:${stableStringify(rec[k])}`)
  }
  return `{${parts.join(',')}}`
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
  return `llm:${api}:${encodeURIComponent(scope)}:${await sha256Hex(json)}`
}

/** `llm:<api>:<scope>:<sha-256 hex>`; the scope is URI-encoded so it cannot forge another prefix. */
export const defaultCacheKey: LlmCacheKeyFn = (params, { scope, api }) =>
  keyFromJson(stableStringify(params), scope, api)
