/**
 * @module retry
 * Which failures are worth another attempt, and when. Provider 408/409/429/529/5xx and connection
 * failures are retried; every other 4xx (400, 401, 403, 404, 413, 422, …) is a request error that
 * would fail again and is not. A failure the provider reports inside a stream has no status: it is
 * retried when its code is a transient one (`TRANSIENT_STREAM_CODES`) or when it has no code, and
 * not otherwise (`invalid_prompt`, `image_content_policy_violation`, `invalid_request_error`, …).
 * The kit's own errors are decisions (blocked prompt or output, budget, unknown model, bad
 * options) and are not retried, except the ones that pass: a store outage
 * (`STORE_UNAVAILABLE`, `STORE_TIMEOUT`), a cache fetch timeout (`CACHE_TIMEOUT`) and a rate limit
 * that will let the call through later (`RATE_LIMITED` with `retryAfterMs >= 0`). The delay honours
 * the provider's `retry-after-ms` / `retry-after` (seconds or an HTTP date) and a kit rate limit's
 * `retryAfterMs`; without one it is exponential (base × 2^(attempt−1)) with jitter (half fixed, half
 * random), capped at `maxRetryDelay`.
 */
import { errorBody, isAikitError } from '@aikit/core'
import { MissingClientError, ProviderStreamError } from './call.js'
import type { LlmJobError } from './errors.js'

type Rec = Record<string, unknown>

/** The HTTP status of a provider error (`undefined` for connection errors and timeouts). */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const status = (error as Rec).status
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined
}

/** Kit error codes of accidents that pass (a Redis blip, a slow fetch), not decisions. */
const RETRYABLE_KIT_CODES = new Set(['STORE_UNAVAILABLE', 'STORE_TIMEOUT', 'CACHE_TIMEOUT'])

/**
 * The codes of in-stream failures that pass. OpenAI's `ResponseError.code` (openai 6): only
 * `server_error`, `rate_limit_exceeded` and `vector_store_timeout`; the rest (`invalid_prompt`,
 * `bio_policy`, `data_residency_mismatch`, the image ones, `failed_to_download_image` and
 * `image_file_not_found` included: the job carries the same URL or file id next time) name the
 * request. Anthropic's error `type` in an `error` event: `api_error`, `overloaded_error`,
 * `rate_limit_error`, `timeout_error` (its 500, 529, 429, 504); `invalid_request_error` and the
 * other 4xx types are not.
 */
const TRANSIENT_STREAM_CODES = new Set([
  'server_error',
  'rate_limit_exceeded',
  'vector_store_timeout',
  'api_error',
  'overloaded_error',
  'rate_limit_error',
  'timeout_error',
])

/**
 * The code of a failure the provider reported inside a stream: the queue's `ProviderStreamError`
 * (a Responses `response.failed` or `error` event), or an SDK error with no status and the
 * provider's body (Anthropic's `error` event, a Chat Completions chunk with `error`). `undefined`
 * when it gave none (then it is retried, like a dropped connection).
 */
function streamFailureCode(error: unknown): string | undefined {
  if (error instanceof ProviderStreamError) return error.code
  if (typeof error !== 'object' || error === null) return undefined
  const body = (error as Rec).error
  if (typeof body !== 'object' || body === null) return undefined // a connection error
  const inner = (body as Rec).error
  const nested = (typeof inner === 'object' && inner !== null ? inner : body) as Rec
  if (typeof nested.code === 'string') return nested.code
  // A Responses `error` event's own `type` is `error`: not a code.
  return typeof nested.type === 'string' && nested.type !== 'error' ? nested.type : undefined
}

/**
 * The wait a kit rate limit (`RATE_LIMITED`: `@aikit/llm`'s `TokenRateLimitedError`,
 * `@aikit/ratelimit`'s `RateLimitedError`) asks for; `-1` when the call can never pass.
 */
function kitRetryAfterMs(error: unknown): number | undefined {
  if (!isAikitError(error) || error.code !== 'RATE_LIMITED') return undefined
  const own = (error as unknown as Rec).retryAfterMs
  const details = error.details as Rec | undefined
  const ms = typeof own === 'number' ? own : details?.retryAfterMs
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined
}

/** True when another attempt may succeed. */
export function isRetryable(error: unknown): boolean {
  // The kit's own errors (blocked prompt, blocked output, budget) are decisions, not accidents;
  // a store outage and a rate limit that lifts later are accidents.
  if (isAikitError(error)) {
    if (RETRYABLE_KIT_CODES.has(error.code)) return true
    const wait = kitRetryAfterMs(error)
    return wait !== undefined && wait >= 0
  }
  const status = statusOf(error)
  if (status === undefined) {
    const code = streamFailureCode(error)
    // Connection reset, timeout, stream cut short: no code. A code names what failed.
    return code === undefined || TRANSIENT_STREAM_CODES.has(code)
  }
  return status === 408 || status === 409 || status === 429 || status >= 500
}

function header(error: unknown, name: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const headers = (error as Rec).headers
  if (headers === null || typeof headers !== 'object') return undefined
  const get = (headers as { get?: unknown }).get
  if (typeof get === 'function') {
    const v = (get as (n: string) => string | null).call(headers, name)
    return v ?? undefined
  }
  const v = (headers as Rec)[name]
  return typeof v === 'string' ? v : undefined
}

/**
 * The requested wait in ms, if any: a kit rate limit's `retryAfterMs`, else the provider's
 * `retry-after-ms`, else `retry-after`.
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  const kit = kitRetryAfterMs(error)
  if (kit !== undefined && kit >= 0) return Math.ceil(kit)
  const ms = header(error, 'retry-after-ms')
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms))
  const after = header(error, 'retry-after')
  if (after === undefined) return undefined
  const trimmed = after.trim()
  // Two `retry-after: N` headers reach us joined (`Headers.get` gives `N, N`): the longer wait.
  if (/^\d+(?:\.\d+)?(?:\s*,\s*\d+(?:\.\d+)?)*$/.test(trimmed)) {
    return Math.ceil(Math.max(...trimmed.split(',').map(Number)) * 1000)
  }
  // An HTTP-date only (RFC 9110: IMF-fixdate, and the obsolete RFC 850 and asctime forms):
  // `Date.parse` alone reads `-1` or `x 1` as dates in 2001, a wait of 0.
  if (!HTTP_DATE.test(trimmed)) return undefined
  // The asctime form names no zone: GMT (not the local time `Date.parse` would assume).
  const date = Date.parse(/\d{4}$/.test(trimmed) ? `${trimmed} GMT` : trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const HTTP_DATE =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/

/** The delay before attempt `attemptsMade + 1`. */
export function retryDelay(
  error: unknown,
  attemptsMade: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random
): number {
  const asked = retryAfterMs(error)
  if (asked !== undefined) return Math.min(maxMs, Math.max(1, asked))
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1))
  return Math.max(1, Math.round(exp / 2 + random() * (exp / 2)))
}

/**
 * What the end user is told of a provider failure: a generic text per status class. The provider's
 * own message is never sent (core's rule for an upstream's message): a 401's names the server's API
 * key (`Incorrect API key provided: sk-proj-…`), others quote the request. It reaches the
 * operators only: the wrapped client's log, and the error BullMQ's `failed` event gets (itself,
 * or its `cause`).
 */
function providerMessage(status: number | undefined, streamCode: string | undefined): string {
  if (status === undefined) {
    return streamCode === undefined
      ? 'The provider could not be reached'
      : 'The provider reported a failure in the stream'
  }
  if (status === 401 || status === 403)
    return `The provider refused the server's credentials (${status})`
  if (status === 429) return 'The provider is rate limiting the server (429)'
  if (status >= 400 && status < 500) return `The provider rejected the request (${status})`
  return `The provider failed (${status})`
}

/** Client-safe description of a failure (no headers, no request body, no provider message). */
export function describeFailure(error: unknown, attempts: number): LlmJobError {
  if (isAikitError(error)) {
    // The body's message (a store error's `message` is for operators: `clientMessage`).
    return {
      status: error.status,
      code: error.code,
      message: errorBody(error).error.message,
      attempts,
    }
  }
  // The provider was never called: its status is no provider's answer.
  if (error instanceof MissingClientError)
    return { code: 'NO_CLIENT', message: error.message, attempts }
  const status = statusOf(error)
  const rec = (typeof error === 'object' && error !== null ? error : {}) as Rec
  const inner = (rec.error ?? {}) as Rec
  const nested = (
    typeof inner.error === 'object' && inner.error !== null ? inner.error : inner
  ) as Rec
  const type = typeof nested.type === 'string' ? nested.type : undefined
  const code = type ?? (status === undefined ? 'PROVIDER_UNREACHABLE' : `PROVIDER_${status}`)
  const message = providerMessage(
    status,
    status === undefined ? streamFailureCode(error) : undefined
  )
  return { ...(status === undefined ? {} : { status }), code, message, attempts }
}
