/**
 * @module shared/framework-errors
 * Maps an error that reached a framework's error handler (a route threw, a body parser failed,
 * schema validation failed) onto the kit's JSON error shape. Express's default handler sends the
 * stack as HTML outside production and Fastify's sends a 500's message: both can leak secrets.
 * Only the framework's and HTTP libraries' client errors keep their 4xx (see `meantForClient`):
 * anything else is a 500, as in the chain runner (node:http, Next).
 */
import { type ErrorBody, errorBody, errorHeaders, errorStatus, isAikitError } from '@aikit/core'

const CODES: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'INVALID_REQUEST',
  429: 'RATE_LIMITED',
}

const MESSAGES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Invalid request',
  429: 'Too many requests',
}

interface HttpishError {
  status?: unknown
  statusCode?: unknown
  expose?: unknown
  validation?: unknown
  message?: unknown
  type?: unknown
  name?: unknown
  headers?: unknown
  response?: unknown
}

/**
 * Whether a 4xx on an error that is not an `AikitError` was set for the client of this request by
 * the framework or an HTTP library, the only ones the status is kept for:
 * - a Fastify schema-validation error (`validation` array);
 * - an http-errors error (body-parser, raw-body, send, @fastify/sensible), or one written in its
 *   style: `expose` is a boolean, its author's mark that the error is about the request;
 * - an error with a numeric `statusCode` (Fastify's own `FST_ERR_*` errors, its content-type
 *   parsers' SyntaxError, its plugins'), unless it carries an upstream response (`headers`,
 *   `response`): an API client's error (Stripe's has `statusCode` and `headers`) is not about
 *   this request.
 * Anything else is a 500 `INTERNAL`, as DESIGN.md says: in particular the LLM SDKs' `APIError`
 * (`status` and the provider's `headers`, no `expose`/`statusCode`): a provider's 401 (the
 * server's API key is wrong), 404 (unknown model) or 429 (the provider's rate limit) is the
 * server's failure, not the client's, and only a 5xx is reported to `onError`. A plain error
 * with only `status: 404` is a 500 too (Express's finalhandler would keep it): from `status`
 * alone an app's "not found" cannot be told from an HTTP client's, and a wrong 4xx blames the
 * user and goes unreported where a wrong 500 only loses a status. An app keeps its 4xx with an
 * `AikitError` (or `expose`).
 */
function meantForClient(e: HttpishError): boolean {
  if (Array.isArray(e.validation) || typeof e.expose === 'boolean') return true
  return typeof e.statusCode === 'number' && e.headers === undefined && e.response === undefined
}

/**
 * Whether the error's message may quote the request: body-parser / raw-body errors carry a
 * `type` (`entity.parse.failed`: V8's JSON SyntaxError quotes the start of the body; also
 * `entity.verify.failed`, `charset.unsupported`, `encoding.unsupported`, which quote the app's
 * verify message or request headers), and any SyntaxError is a parser's. Although http-errors
 * marks them `expose`, they get the fixed status message, as Fastify's own handler does.
 */
function quotesInput(e: HttpishError): boolean {
  return typeof e.type === 'string' || e.name === 'SyntaxError' || e instanceof SyntaxError
}

/** Status and JSON body for an error a framework caught. 5xx never carry the error's message. */
export function frameworkErrorResponse(error: unknown): {
  status: number
  body: ErrorBody
  /**
   * Headers of the error response besides its body: `Retry-After` of a 429/503 kit error; those
   * of an http-errors client error's `headers` that tell how to retry or authenticate.
   */
  headers?: Record<string, string>
} {
  const e = (typeof error === 'object' && error !== null ? error : {}) as HttpishError
  if (isAikitError(error) && !carriesUpstreamResponse(e)) {
    return { status: errorStatus(error), body: errorBody(error), headers: errorHeaders(error) }
  }
  const raw = typeof e.status === 'number' ? e.status : e.statusCode
  const status = typeof raw === 'number' && Number.isInteger(raw) ? raw : 500
  if (status < 400 || status > 499 || !meantForClient(e)) {
    // Not `errorBody(error)`: an error set apart above may still pass its kit-error shape test.
    return { status: 500, body: errorBody(undefined) }
  }
  // A message is shown only when its author marked it safe for clients (http-errors' `expose`)
  // and it cannot quote the request body (see `quotesInput`), or for a Fastify schema-validation
  // error (it names the field, never a value).
  const safe = (e.expose === true && !quotesInput(e)) || Array.isArray(e.validation)
  const message =
    safe && typeof e.message === 'string' ? e.message : (MESSAGES[status] ?? 'Request failed')
  const body: ErrorBody = { error: { code: CODES[status] ?? 'REQUEST_FAILED', message } }
  const headers = typeof e.expose === 'boolean' ? clientHeaders(e.headers) : undefined
  return headers === undefined ? { status, body } : { status, body, headers }
}

/**
 * Whether the error carries an HTTP client's upstream response (`response`, `headers`), which no
 * `AikitError` does. axios's `AxiosError` (1.x) passes `isAikitError`'s shape test (a string
 * `code` such as `ERR_BAD_REQUEST`, the upstream `status`, `name`, `toJSON`): a provider's 401
 * called through axios would otherwise reach the client as a 401 and go unreported.
 */
function carriesUpstreamResponse(e: HttpishError): boolean {
  return e.response !== undefined || e.headers !== undefined
}

/**
 * The headers http-errors sends with a client error it describes (`createError(429, { headers:
 * { 'Retry-After': '30' } })`; `headers` is its documented property, which Express's finalhandler
 * and Fastify's default handler send): those that tell the client how to retry or authenticate,
 * which RFC 9110 requires with some statuses (`WWW-Authenticate` with a 401, `Allow` with a 405).
 * Only these names, with a string or number value free of control characters: the body is the
 * kit's JSON, so the error's framing or content headers do not describe it.
 */
function clientHeaders(headers: unknown): Record<string, string> | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined
  let out: Record<string, string> | undefined
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase()
    if (!CLIENT_HEADERS.has(lower)) continue
    const value = (headers as Record<string, unknown>)[name]
    if (typeof value !== 'string' && typeof value !== 'number') continue
    const text = String(value)
    if (text === '' || INVALID_VALUE.test(text)) continue
    out ??= {}
    out[lower] = text
  }
  return out
}

const CLIENT_HEADERS = new Set([
  'retry-after',
  'allow',
  'www-authenticate',
  'proxy-authenticate',
  'accept-patch',
  'accept-post',
])

/** What a header value may not hold (as Node's `setHeader` refuses): controls other than tab. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/
