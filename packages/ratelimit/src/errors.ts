/**
 * @module errors
 * `RateLimitedError`: the 429 the `rateLimit` middleware answers with; `UnidentifiedClientError`:
 * its 403 for a request without a key under `unkeyed: 'reject'`.
 */
import { AikitError } from '@aikit/core'

/**
 * 429: the request exceeds a rate limit. `details.retryAfterMs` is the wait in ms before the same
 * request could pass, or `-1` when it never can (its cost exceeds a limit).
 */
export class RateLimitedError extends AikitError {
  /** Wait in ms before retrying, or `-1` when the cost can never be allowed. */
  readonly retryAfterMs: number
  constructor(retryAfterMs: number) {
    super('RATE_LIMITED', 429, 'Too many requests', { details: { retryAfterMs } })
    this.retryAfterMs = retryAfterMs
  }
}

/**
 * 403: the `rateLimit` middleware found no key for the request (no subject, no client IP) and its
 * `unkeyed` option is `'reject'`.
 */
export class UnidentifiedClientError extends AikitError {
  constructor() {
    super('UNIDENTIFIED_CLIENT', 403, 'The client could not be identified for rate limiting')
  }
}
