/**
 * @module redact-keys
 * Key names whose value is censored wherever they appear, compared case-insensitively, plus a
 * bounded cache of lower-cased keys (log objects repeat the same few keys, so `toLowerCase` runs
 * once per distinct key rather than once per key visited).
 */

/** Keys censored by default at any depth (lower-case). */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'api_key',
  'apikey',
  'x-auth-token',
  'x-csrf-token',
  'x-amz-security-token',
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
  'session_token',
  'private_key',
  'privatekey',
  'credentials',
]

const CACHE_LIMIT = 4096
const lowerCache = new Map<string, string>()

/** `key.toLowerCase()`, memoised for the first few thousand distinct keys. */
export function lowerKey(key: string): string {
  const hit = lowerCache.get(key)
  if (hit !== undefined) return hit
  const lower = key.toLowerCase()
  if (lowerCache.size < CACHE_LIMIT) lowerCache.set(key, lower)
  return lower
}
