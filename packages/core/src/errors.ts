/**
 * @module errors
 * Every error the kit raises is an `AikitError` with a stable `code` and an HTTP `status`.
 * HTTP error bodies share one JSON shape: `{ "error": { "code", "message", "details"? } }`.
 */

/** The JSON body of every error response the kit sends. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown }
}

/**
 * Base class of every error the kit raises. `code` is stable; the client reads `clientMessage`
 * when an error sets one (its `message` is then for logs and Sentry only), else `message`, which
 * is then safe to show a client.
 * A 429 or 503 one with a `retryAfterMs` field is answered with `Retry-After` (see `errorHeaders`).
 */
export class AikitError extends Error {
  /** Stable machine-readable code, e.g. `RATE_LIMITED`. */
  readonly code: string
  /** HTTP status used when this error ends a request. */
  readonly status: number
  /** Optional client-safe details (never secrets, never stack traces). */
  readonly details: unknown
  /**
   * What the JSON error body says instead of `message`, when `message` is for operators only
   * (a store error's cause: an open circuit, a timeout, ioredis's error with the Redis host).
   */
  declare readonly clientMessage?: string

  constructor(
    code: string,
    status: number,
    message: string,
    options?: { details?: unknown; cause?: unknown }
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.status = status
    this.details = options?.details
  }

  /** The JSON error shape for this error. */
  toJSON(): ErrorBody {
    return errorBody(this)
  }
}

/** 400: the request is malformed (bad JSON, failed validation, too deep). */
export class InvalidRequestError extends AikitError {
  constructor(message = 'Invalid request', options?: { details?: unknown; cause?: unknown }) {
    super('INVALID_REQUEST', 400, message, options)
  }
}

/** 413: the request body is larger than the configured limit. */
export class PayloadTooLargeError extends AikitError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', 413, `Request body exceeds ${limitBytes} bytes`, {
      details: { limitBytes },
    })
  }
}

/** 415: the request body has a content type the endpoint does not accept. */
export class UnsupportedMediaTypeError extends AikitError {
  constructor(expected: string) {
    super('UNSUPPORTED_MEDIA_TYPE', 415, `Unsupported request body: expected ${expected}`, {
      details: { expected },
    })
  }
}

/**
 * Thrown at construction when an option is invalid. `field` names the offending option
 * (e.g. `limits[0].window`); the message never echoes a secret value.
 */
export class InvalidOptionsError extends AikitError {
  /** Path of the bad option, e.g. `trustProxy` or `limits[1].limit`. */
  readonly field: string
  constructor(field: string, message: string) {
    super('INVALID_OPTIONS', 500, `Invalid option \`${field}\`: ${message}`, { details: { field } })
    this.field = field
  }
}

/** 500: anything that is not an `AikitError`. The original error's message is never sent. */
export class InternalError extends AikitError {
  constructor(options?: { cause?: unknown }) {
    super('INTERNAL', 500, 'Internal server error', options)
  }
}

/**
 * The mark every `AikitError` carries on its prototype, shared by all copies of this package
 * (`Symbol.for`). The shape alone (a string `code`, a `status`, `toJSON`) is not enough: an
 * HTTP client's error has it too (axios: `code: 'ERR_BAD_REQUEST'`, `status: 401`, `toJSON`),
 * and would be answered to the end user with the upstream's status and message.
 */
const AIKIT_ERROR = Symbol.for('@aikit/core.AikitError')
Object.defineProperty(AikitError.prototype, AIKIT_ERROR, { value: true })

/** True for any `AikitError`, also one thrown by another copy of this package. */
export function isAikitError(value: unknown): value is AikitError {
  if (value instanceof AikitError) return true
  if (!(value instanceof Error)) return false
  const v = value as Error & { code?: unknown; status?: unknown; [AIKIT_ERROR]?: unknown }
  return (
    v[AIKIT_ERROR] === true &&
    typeof v.code === 'string' &&
    typeof v.status === 'number' &&
    v.status >= 400 &&
    v.status <= 599
  )
}

/** The JSON error body for any thrown value: `AikitError`s keep their code, the rest are `INTERNAL`. */
export function errorBody(error: unknown): ErrorBody {
  if (isAikitError(error)) {
    const clientMessage = (error as { clientMessage?: unknown }).clientMessage
    const message = typeof clientMessage === 'string' ? clientMessage : error.message
    const body: ErrorBody = { error: { code: error.code, message } }
    if (error.details !== undefined) body.error.details = error.details
    return body
  }
  return { error: { code: 'INTERNAL', message: 'Internal server error' } }
}

/**
 * Headers an error response carries besides its JSON body: `Retry-After` (delta-seconds, rounded
 * up, at least 1, RFC 9110 §10.2.3) when the value is a 429 or 503 `AikitError` with a
 * `retryAfterMs` >= 0 (a store outage, a rate limit), so that clients and load balancers back off
 * for as long as it lasts; none otherwise (a rate limit that can never pass has `-1`). A new
 * object per call.
 */
export function errorHeaders(error: unknown): Record<string, string> {
  if (!isAikitError(error)) return {}
  const status = errorStatus(error)
  if (status !== 429 && status !== 503) return {}
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return {}
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) }
}

/**
 * HTTP status for any thrown value: an `AikitError`'s own when it is an error status (an integer
 * from 400 to 599), else 500. A status copied from elsewhere (0 from a failed fetch, a 302) would
 * otherwise leave the client with no response, or a redirect with an error body.
 */
export function errorStatus(error: unknown): number {
  if (!isAikitError(error)) return 500
  const status = error.status
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500
}
