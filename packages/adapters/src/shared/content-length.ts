/**
 * @module shared/content-length
 * The Content-Length a `respond` stream is held to (see `Context.respond`), for the Node pump and
 * the Web path alike. Edge-safe: no `node:` import.
 */
import { AikitError } from '@aikit/core'

/**
 * A Content-Length header value as a byte count; undefined when it is not one (RFC 9110 §8.6:
 * decimal digits; a list, even of one value repeated, is not taken here). At most 15 digits, so
 * the count stays an exact integer.
 */
export function byteCount(
  value: string | number | readonly string[] | null | undefined
): number | undefined {
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return undefined
  return Number(value)
}

/**
 * The error reported (`onError`) when a `respond` stream does not have the length its head
 * declared: the response was cut off and its connection closed.
 */
export function lengthMismatch(declared: number, how: 'runs past' | 'ended short of'): AikitError {
  return new AikitError(
    'CONTENT_LENGTH_MISMATCH',
    500,
    `The response stream ${how} its Content-Length (${declared} bytes): the response was cut off`
  )
}
