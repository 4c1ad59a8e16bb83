/**
 * @module cors
 * `cors()`: CORS without the foot-guns of `cors` / `@fastify/cors`. `'*'` or reflect-all with
 * credentials throws at construction; `Origin: null` is never allowed; a preflight from an origin
 * that is not allowed gets 403 with no `Access-Control-Allow-*` header at all (not a 204); every
 * response varies on `Origin`. CORS only decides which pages may *read* responses: pair it with
 * `csrf()` to stop cross-site writes.
 */
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { type CorsOrigin, compileOrigin, originAllowed } from './cors-origin.js'
import { CorsRejectedError } from './errors.js'
import { runsEarly } from './headers-order.js'

/** Options of `cors()`. */
export interface CorsOptions {
  /** Allowed origins (see `CorsOrigin`). Required. */
  origin: CorsOrigin
  /** Send `Access-Control-Allow-Credentials: true` (cookies, Authorization). @default false */
  credentials?: boolean
  /** Methods a preflight allows. @default ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'] */
  methods?: readonly string[]
  /**
   * Request headers a preflight allows. When unset, the headers the preflight asks for are
   * reflected (when they are valid header names), with `Vary: Access-Control-Request-Headers`.
   * @default undefined (reflect)
   */
  allowedHeaders?: readonly string[]
  /** Response headers the page may read (`Access-Control-Expose-Headers`). @default [] */
  exposedHeaders?: readonly string[]
  /**
   * Seconds a browser may cache a preflight (`Access-Control-Max-Age`): an integer from 0 to
   * `Number.MAX_SAFE_INTEGER`. @default 600
   */
  maxAge?: number
}
const CORS_KEYS = Object.keys({
  origin: true,
  credentials: true,
  methods: true,
  allowedHeaders: true,
  exposedHeaders: true,
  maxAge: true,
} satisfies Record<keyof CorsOptions, true>)

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/
const MAX_REQUEST_HEADERS_LENGTH = 1024

function tokenList(value: unknown, field: string, fallback: readonly string[]): string {
  if (value === undefined) return fallback.join(', ')
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !TOKEN.test(v))) {
    throw new InvalidOptionsError(field, 'must be an array of header or method names')
  }
  return (value as string[]).join(', ')
}

/**
 * CORS middleware. A preflight is an `OPTIONS` request with `Origin` and
 * `Access-Control-Request-Method`: allowed → 204 with `Content-Length: 0` and the
 * `Access-Control-Allow-*` headers; not allowed → 403 `CORS_REJECTED`. An `OPTIONS` request
 * without `Access-Control-Request-Method` is not a preflight and goes on to the app. Other requests
 * always go on (CORS does not block them); an allowed origin gets `Access-Control-Allow-Origin`.
 *
 * Its place in the chain does not matter: it runs before every middleware of the chain but the
 * header-only ones (`securityHeaders()`, `contentSecurityPolicy()`), wherever it is listed. So a
 * preflight is answered before authentication or rate limiting could refuse it (browsers send
 * preflights without credentials), and the 429, 413 or 403 of a middleware listed before it still
 * carries `Access-Control-Allow-Origin`: the page can read the error instead of seeing a CORS
 * failure.
 *
 * ```ts
 * cors({ origin: ['https://app.example.com', 'https://*.preview.example.com'], credentials: true })
 * ```
 */
export function cors(options: CorsOptions): Middleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object with `origin`')
  }
  // `cors` and `@fastify/cors` options this one does not take (`preflightContinue`,
  // `optionsSuccessStatus`, `strictPreflight`) are refused too: their behaviour is not offered.
  rejectUnknownOptions(options, CORS_KEYS)
  const credentials = options.credentials ?? false
  if (typeof credentials !== 'boolean')
    throw new InvalidOptionsError('credentials', 'must be a boolean')
  const matcher = compileOrigin(options.origin, credentials)
  const methods = tokenList(options.methods, 'methods', [
    'GET',
    'HEAD',
    'PUT',
    'PATCH',
    'POST',
    'DELETE',
  ]).toUpperCase()
  const allowedHeaders =
    options.allowedHeaders === undefined
      ? undefined
      : tokenList(options.allowedHeaders, 'allowedHeaders', [])
  const exposed = tokenList(options.exposedHeaders, 'exposedHeaders', [])
  const maxAge = options.maxAge ?? 600
  // Bounded: `Number.isInteger(1e21)` is true, and `String(1e21)` is `1e+21`, not delta-seconds.
  if (
    typeof maxAge !== 'number' ||
    !Number.isInteger(maxAge) ||
    maxAge < 0 ||
    maxAge > Number.MAX_SAFE_INTEGER
  ) {
    throw new InvalidOptionsError(
      'maxAge',
      'must be an integer number of seconds from 0 to Number.MAX_SAFE_INTEGER'
    )
  }
  const maxAgeValue = String(maxAge)
  const star = matcher.kind === 'any'

  return runsEarly(async function cors(ctx, next) {
    // The answer depends on Origin for every config but '*': shared caches must key on it.
    if (!star) ctx.appendHeader('Vary', 'Origin')
    const origin = ctx.header('origin')
    if (origin === undefined) {
      await next()
      return
    }
    const allowed = await originAllowed(matcher, origin, ctx)
    const requestMethod =
      ctx.method === 'OPTIONS' ? ctx.header('access-control-request-method') : undefined
    if (requestMethod !== undefined) {
      if (!allowed) throw new CorsRejectedError()
      const headers: Record<string, string> = {
        'Access-Control-Allow-Origin': star ? '*' : origin,
        'Access-Control-Allow-Methods': methods,
        'Access-Control-Max-Age': maxAgeValue,
        // Safari used to hang on a 204 without a length (expressjs/cors does the same).
        'Content-Length': '0',
      }
      if (credentials) headers['Access-Control-Allow-Credentials'] = 'true'
      if (allowedHeaders !== undefined) {
        if (allowedHeaders !== '') headers['Access-Control-Allow-Headers'] = allowedHeaders
      } else {
        ctx.appendHeader('Vary', 'Access-Control-Request-Headers')
        const asked = ctx.header('access-control-request-headers')
        if (
          asked !== undefined &&
          asked.length <= MAX_REQUEST_HEADERS_LENGTH &&
          HEADER_LIST.test(asked.trim())
        ) {
          headers['Access-Control-Allow-Headers'] = asked.trim()
        }
      }
      ctx.respond(204, undefined, headers)
      return
    }
    if (allowed) {
      ctx.setHeader('Access-Control-Allow-Origin', star ? '*' : origin)
      if (credentials) ctx.setHeader('Access-Control-Allow-Credentials', 'true')
      if (exposed !== '') ctx.setHeader('Access-Control-Expose-Headers', exposed)
    }
    await next()
  })
}
