/**
 * @module redact-key-kinds
 * Which object keys, and which strings used as names (an array item before its value, a
 * `{ name, value }` record's name), name a credential for one redactor: its key list, or the
 * rules of `isCredentialKey`. Log objects repeat a few keys, so each is lower-cased and checked
 * once: a bounded cache keeps the kind of every key that holds no secret itself.
 */
import { MAX_CACHED_KEY } from './redact-keys.js'
import { isCredentialKey } from './redact-names.js'
import { MIN_SCAN_LENGTH } from './redact-patterns.js'

/** The kind of a key whose value is censored. */
export const SENSITIVE_KEY = 1
/** The kind of any other key. */
export const PLAIN_KEY = 2

const KEY_CACHE_LIMIT = 4096
/** Longest array item taken for a name (`['Authorization', '…']`): header and variable names. */
const MAX_NAME_ITEM = 64

/** One redactor's key classification. */
export interface KeyKinds {
  /**
   * Object key → `SENSITIVE_KEY` or `PLAIN_KEY`, for keys that hold no secret themselves. A key
   * that holds a secret is never cached, so no secret stays in memory; the cache is bounded.
   * The object walk reads it directly.
   */
  readonly cache: Map<string, number>
  /** The kind of `key`, caching it when `key` is clean (`outKey`, its redaction, is `key`). */
  keyKind(key: string, outKey: string): number
  /** Whether the value under object key `key` is censored. */
  sensitiveKey(key: string): boolean
  /**
   * Whether a string found as an array item or a record's `name` names a credential (the
   * key cache is read, never written: such strings are values, and one may be a secret).
   */
  namesCredential(item: unknown): boolean
  /**
   * Whether `obj` is a `{ name, value }` record whose name names a credential (a HAR / undici
   * header list, a Kubernetes env entry); `key` / `Key` count as the name too (`{ Key, Value }`
   * tags).
   */
  recordNamesCredential(obj: object): boolean
}

/**
 * The key classification of a redactor censoring the lower-case names `sensitive` and, when
 * `credentialKeys`, the keys `isCredentialKey` accepts; `redactString` tells a key holding a
 * secret (never cached).
 */
export function createKeyKinds(
  sensitive: ReadonlySet<string>,
  credentialKeys: boolean,
  redactString: (s: string) => string
): KeyKinds {
  const keyKinds = new Map<string, number>()

  /** Whether `name` is on the key list, also written with `-` for `_` (`access-token`). */
  function listed(name: string): boolean {
    const lower = name.toLowerCase()
    return (
      sensitive.has(lower) || (lower.includes('-') && sensitive.has(lower.replaceAll('-', '_')))
    )
  }

  /**
   * Whether `key` names a credential: the key list, or the rules of `isCredentialKey`; for a
   * dotted name (OTel attributes, flattened config: `db.password`, `openai.api_key`), its last
   * segment too.
   */
  function sensitiveName(key: string): boolean {
    if (listed(key) || (credentialKeys && isCredentialKey(key))) return true
    const dot = key.lastIndexOf('.')
    if (dot === -1 || dot === key.length - 1) return false
    const last = key.slice(dot + 1)
    return listed(last) || (credentialKeys && isCredentialKey(last))
  }

  function namesCredential(item: unknown): boolean {
    if (typeof item !== 'string' || item.length > MAX_NAME_ITEM || item.length < 3) return false
    const hit = keyKinds.get(item)
    return hit !== undefined ? hit === SENSITIVE_KEY : sensitiveName(item)
  }

  function keyKind(key: string, outKey: string): number {
    const kind = sensitiveName(key) ? SENSITIVE_KEY : PLAIN_KEY
    if (outKey === key && key.length <= MAX_CACHED_KEY && keyKinds.size < KEY_CACHE_LIMIT) {
      keyKinds.set(key, kind)
    }
    return kind
  }

  function sensitiveKey(key: string): boolean {
    const hit = keyKinds.get(key)
    if (hit !== undefined) return hit === SENSITIVE_KEY
    return keyKind(key, key.length < MIN_SCAN_LENGTH ? key : redactString(key)) === SENSITIVE_KEY
  }

  function recordNamesCredential(obj: object): boolean {
    const r = obj as Record<string, unknown>
    return namesCredential(r.name ?? r.Name ?? r.key ?? r.Key)
  }

  return { cache: keyKinds, keyKind, sensitiveKey, namesCredential, recordNamesCredential }
}
