/**
 * @module store/ttl
 * `ttlMs` validation shared by both stores.
 */
import { InvalidOptionsError } from './errors.js'

/** Validates a `ttlMs` and rounds it up to whole milliseconds. */
export function ttl(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidOptionsError('ttlMs', 'must be a positive finite number of milliseconds')
  }
  return Math.ceil(ttlMs)
}
