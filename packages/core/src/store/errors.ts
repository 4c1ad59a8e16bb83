/**
 * @module store/errors
 * Errors raised by stores: `AikitError`s with a stable `code` and status 503.
 */
import { AikitError } from '../errors.js'

/** The store cannot serve the call: its backend is down, the circuit is open, or it was closed. */
export class StoreUnavailableError extends AikitError {
  /** Why the store is unavailable, e.g. `circuit-open`, `closed`, `connection`. */
  readonly reason: string

  constructor(message: string, options?: { reason?: string; cause?: unknown }) {
    super(
      'STORE_UNAVAILABLE',
      503,
      message,
      options?.cause === undefined ? {} : { cause: options.cause }
    )
    this.reason = options?.reason ?? 'unavailable'
  }
}

/** A store command took longer than its `commandTimeoutMs`. */
export class StoreTimeoutError extends AikitError {
  /** The timeout that was exceeded, in milliseconds. */
  readonly timeoutMs: number

  constructor(timeoutMs: number, what = 'store command') {
    super('STORE_TIMEOUT', 503, `${what} timed out after ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

// Store options are validated with the kit-wide InvalidOptionsError (code INVALID_OPTIONS, `field`).
export { InvalidOptionsError } from '../errors.js'
