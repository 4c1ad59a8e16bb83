/**
 * @module csp
 * `contentSecurityPolicy()`: helmet's CSP (same defaults, same validation) plus a built-in
 * per-request nonce that reaches Express (`res.locals.cspNonce`), Fastify (`reply.cspNonce`),
 * Next (the `x-nonce` and CSP request headers, which Next uses for its own scripts) and every
 * middleware (`ctx.state.cspNonce`).
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import {
  type CspDirectives,
  type CspTemplate,
  compileTemplate,
  parseDirectives,
  renderTemplate,
} from './csp-directives.js'
import { requestNonce, setRequestHeader } from './csp-nonce.js'
import { setHeader } from './headers-native.js'
import { runsFirst } from './headers-order.js'

/** Options of `contentSecurityPolicy()` (and of `securityHeaders({ contentSecurityPolicy })`). */
export interface ContentSecurityPolicyOptions {
  /**
   * Directives, kebab-case or camelCase. Merged into helmet's defaults unless `useDefaults` is
   * false; `null` drops a default directive. Values are validated at construction (quoted
   * keywords, no `;` or `,`, no duplicates). A function value `(ctx) => string` is evaluated per
   * request. @default {} (helmet 8's default policy)
   */
  directives?: CspDirectives
  /** Start from helmet 8's default directives. @default true */
  useDefaults?: boolean
  /** Send `Content-Security-Policy-Report-Only` instead (violations are reported, not blocked). @default false */
  reportOnly?: boolean
  /**
   * Add a per-request `'nonce-…'` source to these directives (`true` means `['script-src']`).
   * The nonce is on `ctx.state.cspNonce`, Express `res.locals.cspNonce`, Fastify
   * `reply.cspNonce` and, under Next, the `x-nonce` request header. Not added to `style-src` by
   * `true`: a nonce there makes browsers ignore the default `'unsafe-inline'` for styles.
   * @default false
   */
  nonce?: boolean | readonly string[]
}
export const CONTENT_SECURITY_POLICY_KEYS = Object.keys({
  directives: true,
  useDefaults: true,
  reportOnly: true,
  nonce: true,
} satisfies Record<keyof ContentSecurityPolicyOptions, true>)

/** A validated policy, ready to put on a response. */
export interface CompiledCsp {
  /** `Content-Security-Policy` or `Content-Security-Policy-Report-Only`. */
  readonly headerName: string
  /** The whole header value when it is the same for every request (no nonce, no function). */
  readonly staticValue: string | undefined
  /** Sets the header (and, under Next, mirrors it on the request so Next nonces its scripts). */
  apply(ctx: Context): void
}

/** Validates CSP options; `field` prefixes option paths in errors. */
export function compileCsp(options: unknown, field: string): CompiledCsp {
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(field || 'options', 'must be an options object')
  }
  const o = options as ContentSecurityPolicyOptions
  const prefix = field === '' ? '' : `${field}.`
  rejectUnknownOptions(o, CONTENT_SECURITY_POLICY_KEYS, prefix)
  for (const key of ['useDefaults', 'reportOnly'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new InvalidOptionsError(`${prefix}${key}`, 'must be a boolean')
    }
  }
  const nonceIn = nonceDirectives(o.nonce, `${prefix}nonce`)
  const directives = parseDirectives(o.directives, o.useDefaults ?? true, `${prefix}directives`)
  const template = compileTemplate(directives, nonceIn, `${prefix}nonce`)
  const headerName = o.reportOnly
    ? 'Content-Security-Policy-Report-Only'
    : 'Content-Security-Policy'
  const only = template.length === 1 ? template[0] : undefined
  return {
    headerName,
    staticValue: typeof only === 'string' ? only : undefined,
    apply: applier(headerName, template, nonceIn.length > 0),
  }
}

function nonceDirectives(value: unknown, field: string): readonly string[] {
  if (value === undefined || value === false) return []
  if (value === true) return ['script-src']
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !/^[a-z-]+$/.test(v))) {
    throw new InvalidOptionsError(
      field,
      'must be a boolean or an array of kebab-case directive names'
    )
  }
  return [...new Set(value as string[])]
}

function applier(
  headerName: string,
  template: CspTemplate,
  hasNonce: boolean
): (ctx: Context) => void {
  const only = template.length === 1 ? template[0] : undefined
  if (typeof only === 'string') {
    // Fully static: the header string was built once, here.
    return (ctx) => setHeader(ctx, headerName, only)
  }
  const requestHeader = headerName.toLowerCase()
  return (ctx) => {
    const nonce = hasNonce ? requestNonce(ctx) : ''
    const value = renderTemplate(template, ctx, nonce)
    setHeader(ctx, headerName, value)
    // Next reads the nonce for its own inline scripts from the request's CSP header.
    if (hasNonce) setRequestHeader(ctx, requestHeader, value)
  }
}

/**
 * Sets `Content-Security-Policy` on every response, including the kit's own error responses.
 * Like `securityHeaders()`, it runs before the other middleware of its chain wherever it is listed
 * (two of them keep their given order: the later one's policy wins).
 * Use it alone, or through `securityHeaders({ contentSecurityPolicy: {...} })` (which includes
 * it by default). Invalid options throw `InvalidOptionsError` here, not per request.
 *
 * ```ts
 * app.use(toExpress(contentSecurityPolicy({ nonce: true, directives: { scriptSrc: ["'self'", "'strict-dynamic'"] } })))
 * // in a template: <script nonce="<%= locals.cspNonce %>">
 * ```
 */
export function contentSecurityPolicy(options: ContentSecurityPolicyOptions = {}): Middleware {
  const csp = compileCsp(options, '')
  const apply = csp.apply
  return runsFirst(async function contentSecurityPolicy(ctx, next) {
    apply(ctx)
    await next()
  })
}
