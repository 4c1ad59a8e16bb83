/**
 * @module redact-keys
 * Key names whose value is censored wherever they appear, compared case-insensitively, plus a
 * bounded cache of lower-cased keys (log objects repeat the same few keys, so `toLowerCase` runs
 * once per distinct key rather than once per key visited), bounded in key length too.
 */
import { SENSITIVE_HEADERS } from './redact-names.js'

/**
 * Keys censored by default at any depth (lower-case): the credential headers, then other
 * credential names. Beyond this list, a key naming a credential by the rules of
 * `isCredentialKey` (`DB_PASSWORD`, `GITHUB_TOKEN`, `openaiApiKey`) is censored too.
 */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = [
  ...SENSITIVE_HEADERS,
  'api_key',
  'apikey',
  'password',
  'passwd',
  'passphrase',
  'secret',
  'client_secret',
  'clientsecret',
  'token',
  'access_token',
  'accesstoken',
  'refresh_token',
  'refreshtoken',
  'id_token',
  'idtoken',
  'auth_token',
  'authtoken',
  'session_token',
  'sessiontoken',
  'private_key',
  'privatekey',
  'credentials',
]

const CACHE_LIMIT = 4096
/**
 * Longer keys are not cached (here and in the key-kind cache of redact-key-kinds): keys come from
 * request bodies, so a client could otherwise pin megabytes per entry for good.
 */
export const MAX_CACHED_KEY = 256
const lowerCache = new Map<string, string>()

/** `key.toLowerCase()`, memoised for the first few thousand distinct keys up to 256 characters. */
export function lowerKey(key: string): string {
  const hit = lowerCache.get(key)
  if (hit !== undefined) return hit
  const lower = key.toLowerCase()
  if (key.length <= MAX_CACHED_KEY && lowerCache.size < CACHE_LIMIT) lowerCache.set(key, lower)
  return lower
}
