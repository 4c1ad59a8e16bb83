/**
 * @module errors
 * The errors `@aikit/security` answers with. Each is an `AikitError` with a stable `code` and an
 * HTTP status, so every adapter turns it into the kit's JSON error shape. Messages and details
 * never echo attacker input (no origin, no token, no header value).
 */
import { AikitError } from '@aikit/core'

/** Why `csrf()` rejected a request (in `details.reason`). */
export type CsrfRejectReason =
  /** `Sec-Fetch-Site` was `cross-site` or `same-site` and the Origin is not trusted. */
  | 'cross-origin'
  /** No `Sec-Fetch-Site` (older browser) and the Origin does not match the host or app origin. */
  | 'origin-mismatch'
  /** No `Sec-Fetch-Site` nor `Origin`, a Cookie, and no same-origin Referer (`strictCookies`). */
  | 'missing-headers'
  /** Token mode: the cookie or header token is missing. */
  | 'token-missing'
  /** Token mode: tokens differ, belong to another session, or are signed with an unknown secret. */
  | 'token-invalid'

/** 403: `csrf()` rejected a state-changing cross-origin request. */
export class CsrfRejectedError extends AikitError {
  /** Why the request was rejected. */
  readonly reason: CsrfRejectReason
  constructor(reason: CsrfRejectReason) {
    super('CSRF_REJECTED', 403, 'Cross-site request rejected', { details: { reason } })
    this.reason = reason
  }
}

/** 403: `cors()` refused a preflight from an origin that is not allowed. */
export class CorsRejectedError extends AikitError {
  constructor() {
    super('CORS_REJECTED', 403, 'Origin not allowed')
  }
}
