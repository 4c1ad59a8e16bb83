/**
 * @module store/ttl
 * `ttlMs` validation shared by both stores.
 */
import { InvalidOptionsError } from './errors.js'

/**
 * Validates a `ttlMs` (above 0, at most `Number.MAX_SAFE_INTEGER`) and rounds it up to whole
 * milliseconds.
 */
export function ttl(ttlMs: number): number {
  // The upper bound keeps both stores alike: Redis refuses a PX past 2^63 - 1 minus its clock
  // (and `1e+21`, how a number >= 1e21 is written) while memoryStore would keep the value, so a
  // "forever" ttl such as `Number.MAX_VALUE` is refused on both instead.
  if (
    typeof ttlMs !== 'number' ||
    !Number.isFinite(ttlMs) ||
    ttlMs <= 0 ||
    ttlMs > Number.MAX_SAFE_INTEGER
  ) {
    throw new InvalidOptionsError(
      'ttlMs',
      'must be a positive number of milliseconds, at most Number.MAX_SAFE_INTEGER'
    )
  }
  return Math.ceil(ttlMs)
}
