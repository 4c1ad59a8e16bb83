import type { ServerResponse } from 'node:http'
import type { FailureSpec, RecordedCall } from './types.js'

/** Error flavour: Anthropic's `{type:'error', error}` or OpenAI's `{error}`. */
export type ErrorDialect = 'anthropic' | 'openai'

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
}

const OPENAI_TYPES: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { type: 'invalid_request_error', code: 'not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
}

/** Which request field an OpenAI error names, and its machine-readable code. */
export interface OpenAIErrorDetail {
  /** The offending request field (`error.param`), e.g. `'stream_options'`. */
  param?: string
  /** `error.code`, e.g. `'integer_below_min_value'`; defaults to the status's usual code. */
  code?: string
}

/** Builds the provider-shaped error body for `status`; `detail` only shapes OpenAI errors. */
export function errorBody(
  dialect: ErrorDialect,
  status: number,
  message: string,
  detail: OpenAIErrorDetail = {}
): unknown {
  if (dialect === 'anthropic') {
    const type = ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')
    return { type: 'error', error: { type, message } }
  }
  const known = OPENAI_TYPES[status]
  const flavour = known ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: status === 529 ? 'overloaded' : null,
  }
  return {
    error: {
      message,
      type: flavour.type,
      param: detail.param ?? null,
      code: detail.code ?? flavour.code,
    },
  }
}

/** Default message for an injected or detected error. */
export function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limited by fake provider.'
  if (status === 529) return 'Overloaded (fake provider).'
  if (status >= 500) return 'Internal server error (fake provider).'
  return 'Invalid request (fake provider).'
}

const RETRY_HEADERS = new Set(['retry-after', 'retry-after-ms'])

/** Sends an error response in the provider's shape (or `spec.body` verbatim). */
export function sendError(
  res: ServerResponse,
  call: RecordedCall,
  dialect: ErrorDialect,
  spec: FailureSpec & OpenAIErrorDetail & { message?: string }
): void {
  const { status } = spec
  const headers: Record<string, string> = { 'content-type': 'application/json', ...spec.headers }
  // `retryAfter` (a number) replaces any `retry-after` in `spec.headers`, and `null` removes it.
  // Otherwise the headers are sent as given, and a 429 gets `retry-after: 1` only when the caller
  // gave no retry hint at all (neither `retry-after` nor `retry-after-ms`, in any case).
  if (spec.retryAfter !== undefined) {
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === 'retry-after') delete headers[name]
    }
    if (spec.retryAfter !== null) headers['retry-after'] = String(spec.retryAfter)
  } else if (
    status === 429 &&
    !Object.keys(headers).some((n) => RETRY_HEADERS.has(n.toLowerCase()))
  ) {
    headers['retry-after'] = '1'
  }
  const body =
    spec.body === undefined
      ? errorBody(dialect, status, spec.message ?? defaultMessage(status), spec)
      : spec.body
  call.status = status
  res.writeHead(status, headers)
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}
