/**
 * @module store/errors
 * Errors raised by stores: `AikitError`s with a stable `code` and status 503.
 *
 * What a client reads in their JSON error body (`clientMessage`) is always the generic
 * `STORE_ERROR_MESSAGE`: how the store failed (an open circuit, a timeout, a refused connection,
 * a host name in ioredis's error) is ours to log, not the client's to read. The detail is their
 * `message` (so logs, Sentry events and `String(error)` say what happened; also `logMessage`),
 * with `reason` / `timeoutMs` and `cause` (ioredis's own error).
 */
import { AikitError } from '../errors.js'

/** What a client reads of every store error (`clientMessage`). */
export const STORE_ERROR_MESSAGE = 'Service temporarily unavailable'

/**
 * `retryAfterMs` of a store error that knows no better wait (a timeout, a connection error before
 * the circuit opens, a closed store): one second, the shortest `Retry-After`, is also about when a
 * breaker (default `openMs` 500) either let the store serve again or opened with a known wait.
 */
const DEFAULT_RETRY_AFTER_MS = 1000

/** The store cannot serve the call: its backend is down, the circuit is open, or it was closed. */
export class StoreUnavailableError extends AikitError {
  /** Why the store is unavailable, e.g. `circuit-open`, `closed`, `connection`. */
  readonly reason: string
  /**
   * What happened, for logs: e.g. `circuit open: store is unavailable`, `redis GET failed:
   * connect ECONNREFUSED 10.0.0.5:6379`. Never sent to a client (see `STORE_ERROR_MESSAGE`).
   */
  readonly logMessage: string
  /** The JSON error body's message: `STORE_ERROR_MESSAGE`, never the cause. */
  override readonly clientMessage: string = STORE_ERROR_MESSAGE
  /**
   * When a retry may be served, in ms from now: for an open circuit the time until its half-open
   * probe, else 1000. Error responses carry it as `Retry-After` (seconds, rounded up, at least 1).
   */
  readonly retryAfterMs: number

  /**
   * @param logMessage - what happened: the error's `message` (and `logMessage`), for logs; the
   *   client reads the generic `clientMessage` instead.
   */
  constructor(
    logMessage: string,
    options?: { reason?: string; cause?: unknown; retryAfterMs?: number }
  ) {
    super(
      'STORE_UNAVAILABLE',
      503,
      logMessage,
      options?.cause === undefined ? {} : { cause: options.cause }
    )
    this.reason = options?.reason ?? 'unavailable'
    this.logMessage = logMessage
    this.retryAfterMs = retryAfterOf(options?.retryAfterMs)
  }
}

/** A store command took longer than its `commandTimeoutMs`. */
export class StoreTimeoutError extends AikitError {
  /** The timeout that was exceeded, in milliseconds. */
  readonly timeoutMs: number
  /** What happened, for logs: e.g. `redis GET timed out after 50 ms`. Never sent to a client. */
  readonly logMessage: string
  /** The JSON error body's message: `STORE_ERROR_MESSAGE`, never the cause. */
  override readonly clientMessage: string = STORE_ERROR_MESSAGE
  /** When a retry may be served, in ms from now: 1000 (a timeout tells no better wait). */
  readonly retryAfterMs: number

  constructor(timeoutMs: number, what = 'store command') {
    super('STORE_TIMEOUT', 503, `${what} timed out after ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
    this.logMessage = this.message
    this.retryAfterMs = DEFAULT_RETRY_AFTER_MS
  }
}

function retryAfterOf(ms: number | undefined): number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_RETRY_AFTER_MS
}

// Store options are validated with the kit-wide InvalidOptionsError (code INVALID_OPTIONS, `field`).
export { InvalidOptionsError } from '../errors.js'
