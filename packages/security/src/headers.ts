/**
 * @module headers
 * `securityHeaders()`: helmet 8's default header set with the same values (a golden test compares
 * them header by header), each one overridable or removable, plus an opt-in `Permissions-Policy`.
 * Headers go through `ctx.setHeader`, so the adapters put them on every response of the request:
 * the route's, and the kit's own 400/403/413/429/500 errors from any middleware of the chain or
 * from the route (the Web `Headers` path of Next included): `compose` runs it first wherever it is
 * listed (headers-order.ts). Static values are built once here.
 */
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import { emitProcessWarning, rejectUnknownOptions } from '@aikit/core/adapter'
import {
  CONTENT_SECURITY_POLICY_KEYS,
  type CompiledCsp,
  type ContentSecurityPolicyOptions,
  compileCsp,
} from './csp.js'
import { headerList, setHeaderList } from './headers-native.js'
import {
  COEP_KEYS,
  COOP_KEYS,
  CORP_KEYS,
  type CrossOriginEmbedderPolicyOptions,
  type CrossOriginOpenerPolicyOptions,
  type CrossOriginResourcePolicyOptions,
  coepValue,
  coopValue,
  corpValue,
  HSTS_KEYS,
  hstsValue,
  REFERRER_POLICY_KEYS,
  type ReferrerPolicyOptions,
  referrerPolicyValue,
  type StrictTransportSecurityOptions,
  type Toggle,
  toggle,
  X_DNS_PREFETCH_CONTROL_KEYS,
  X_FRAME_OPTIONS_KEYS,
  X_PERMITTED_KEYS,
  type XDnsPrefetchControlOptions,
  type XFrameOptionsOptions,
  type XPermittedCrossDomainPoliciesOptions,
  xFrameOptionsValue,
  xPermittedValue,
} from './headers-options.js'
import { runsFirst, staticHeaders } from './headers-order.js'
import {
  PERMISSIONS_POLICY_KEYS,
  type PermissionsPolicyOptions,
  permissionsPolicyValue,
} from './headers-permissions.js'

/**
 * Options of `securityHeaders()`. Each header takes `false` (not sent), `true` (its default) or its
 * options object. Names are helmet 8's; its legacy aliases (`hsts`, `frameguard`, …) are refused
 * with a hint, and so is any other key helmet would ignore, here and in each header's options.
 */
export interface SecurityHeadersOptions {
  /** `Content-Security-Policy` (helmet's default policy). @default true */
  contentSecurityPolicy?: Toggle<ContentSecurityPolicyOptions>
  /** `Cross-Origin-Embedder-Policy: require-corp`. @default false (off since helmet 7) */
  crossOriginEmbedderPolicy?: Toggle<CrossOriginEmbedderPolicyOptions>
  /** `Cross-Origin-Opener-Policy: same-origin`. @default true */
  crossOriginOpenerPolicy?: Toggle<CrossOriginOpenerPolicyOptions>
  /** `Cross-Origin-Resource-Policy: same-origin`. @default true */
  crossOriginResourcePolicy?: Toggle<CrossOriginResourcePolicyOptions>
  /**
   * `Origin-Agent-Cluster: ?1`. This and the other headers without options (`xContentTypeOptions`,
   * `xDownloadOptions`, `xPoweredBy`, `xXssProtection`) take a boolean; any other value keeps the
   * header on with a process warning (`AIKIT_SECURITY_HEADER_OPTIONS`), as helmet warns.
   * @default true
   */
  originAgentCluster?: boolean
  /** `Referrer-Policy: no-referrer`. @default true */
  referrerPolicy?: Toggle<ReferrerPolicyOptions>
  /** `Strict-Transport-Security: max-age=31536000; includeSubDomains`. @default true */
  strictTransportSecurity?: Toggle<StrictTransportSecurityOptions>
  /** `X-Content-Type-Options: nosniff`. @default true */
  xContentTypeOptions?: boolean
  /** `X-DNS-Prefetch-Control: off`. @default true */
  xDnsPrefetchControl?: Toggle<XDnsPrefetchControlOptions>
  /** `X-Download-Options: noopen`. @default true */
  xDownloadOptions?: boolean
  /** `X-Frame-Options: SAMEORIGIN`. @default true */
  xFrameOptions?: Toggle<XFrameOptionsOptions>
  /** `X-Permitted-Cross-Domain-Policies: none`. @default true */
  xPermittedCrossDomainPolicies?: Toggle<XPermittedCrossDomainPoliciesOptions>
  /**
   * Remove `X-Powered-By` (Express sets it before any middleware runs). Works on Node responses;
   * under Next set `poweredByHeader: false` in `next.config`. @default true
   */
  xPoweredBy?: boolean
  /** `X-XSS-Protection: 0` (turns the old, exploitable XSS auditor off). @default true */
  xXssProtection?: boolean
  /** `Permissions-Policy` (`true`: `PERMISSIONS_POLICY_PRESET`). @default false */
  permissionsPolicy?: Toggle<PermissionsPolicyOptions>
}

const SECURITY_HEADERS_KEYS = Object.keys({
  contentSecurityPolicy: true,
  crossOriginEmbedderPolicy: true,
  crossOriginOpenerPolicy: true,
  crossOriginResourcePolicy: true,
  originAgentCluster: true,
  referrerPolicy: true,
  strictTransportSecurity: true,
  xContentTypeOptions: true,
  xDnsPrefetchControl: true,
  xDownloadOptions: true,
  xFrameOptions: true,
  xPermittedCrossDomainPolicies: true,
  xPoweredBy: true,
  xXssProtection: true,
  permissionsPolicy: true,
} satisfies Record<keyof SecurityHeadersOptions, true>)

const HELMET_ALIASES: Record<string, string> = {
  hsts: 'strictTransportSecurity',
  noSniff: 'xContentTypeOptions',
  dnsPrefetchControl: 'xDnsPrefetchControl',
  ieNoOpen: 'xDownloadOptions',
  frameguard: 'xFrameOptions',
  permittedCrossDomainPolicies: 'xPermittedCrossDomainPolicies',
  hidePoweredBy: 'xPoweredBy',
  xssFilter: 'xXssProtection',
}

/** Code of the process warning for options given to a header that takes none. */
const HEADER_OPTIONS_WARNING_CODE = 'AIKIT_SECURITY_HEADER_OPTIONS'

/** The headers that take no options, by option name. */
const FLAG_HEADERS = {
  originAgentCluster: 'Origin-Agent-Cluster',
  xContentTypeOptions: 'X-Content-Type-Options',
  xDownloadOptions: 'X-Download-Options',
  xPoweredBy: 'X-Powered-By',
  xXssProtection: 'X-XSS-Protection',
} as const

/**
 * An on/off header: `undefined` or `true` → on, `false` → off. Any other value (an options object,
 * a string) keeps the header on with a process warning, as helmet 8.3 does (it `console.warn`s).
 */
function flag(o: SecurityHeadersOptions, key: keyof typeof FLAG_HEADERS): boolean {
  const v: unknown = o[key]
  if (v === undefined || v === true) return true
  if (v === false) return false
  emitProcessWarning(
    `securityHeaders(): ${FLAG_HEADERS[key]} does not take options (\`${key}\` takes true or ` +
      'false); the header is sent. Remove the property to silence this warning.',
    HEADER_OPTIONS_WARNING_CODE
  )
  return true
}

/** The resolved header list of `securityHeaders(options)`; exported for tests and the golden check. */
export interface ResolvedSecurityHeaders {
  /** Static headers in helmet's order: [name, value]. */
  readonly headers: readonly (readonly [string, string])[]
  /** The CSP, or undefined when turned off. */
  readonly csp: CompiledCsp | undefined
  /** Whether `X-Powered-By` is removed. */
  readonly removePoweredBy: boolean
}

/** Validates `securityHeaders` options and builds every static header value. */
export function resolveSecurityHeaders(
  options: SecurityHeadersOptions = {}
): ResolvedSecurityHeaders {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  for (const key of Object.keys(options)) {
    const alias = HELMET_ALIASES[key]
    if (alias !== undefined) {
      throw new InvalidOptionsError(key, `is helmet's legacy alias; use \`${alias}\``)
    }
  }
  rejectUnknownOptions(options, SECURITY_HEADERS_KEYS)
  const o = options
  const headers: [string, string][] = []
  const cspOptions = toggle<ContentSecurityPolicyOptions>(
    'contentSecurityPolicy',
    o.contentSecurityPolicy,
    true,
    CONTENT_SECURITY_POLICY_KEYS
  )
  const csp = cspOptions === undefined ? undefined : compileCsp(cspOptions, 'contentSecurityPolicy')

  const coep = toggle<CrossOriginEmbedderPolicyOptions>(
    'crossOriginEmbedderPolicy',
    o.crossOriginEmbedderPolicy,
    false,
    COEP_KEYS
  )
  if (coep) headers.push(['Cross-Origin-Embedder-Policy', coepValue(coep)])
  const coop = toggle<CrossOriginOpenerPolicyOptions>(
    'crossOriginOpenerPolicy',
    o.crossOriginOpenerPolicy,
    true,
    COOP_KEYS
  )
  if (coop) headers.push(['Cross-Origin-Opener-Policy', coopValue(coop)])
  const corp = toggle<CrossOriginResourcePolicyOptions>(
    'crossOriginResourcePolicy',
    o.crossOriginResourcePolicy,
    true,
    CORP_KEYS
  )
  if (corp) headers.push(['Cross-Origin-Resource-Policy', corpValue(corp)])
  if (flag(o, 'originAgentCluster')) headers.push(['Origin-Agent-Cluster', '?1'])
  const referrer = toggle<ReferrerPolicyOptions>(
    'referrerPolicy',
    o.referrerPolicy,
    true,
    REFERRER_POLICY_KEYS
  )
  if (referrer) headers.push(['Referrer-Policy', referrerPolicyValue(referrer)])
  const hsts = toggle<StrictTransportSecurityOptions>(
    'strictTransportSecurity',
    o.strictTransportSecurity,
    true,
    HSTS_KEYS
  )
  if (hsts) headers.push(['Strict-Transport-Security', hstsValue(hsts, 'strictTransportSecurity')])
  if (flag(o, 'xContentTypeOptions')) headers.push(['X-Content-Type-Options', 'nosniff'])
  const dns = toggle<XDnsPrefetchControlOptions>(
    'xDnsPrefetchControl',
    o.xDnsPrefetchControl,
    true,
    X_DNS_PREFETCH_CONTROL_KEYS
  )
  if (dns) {
    if (dns.allow !== undefined && typeof dns.allow !== 'boolean') {
      throw new InvalidOptionsError('xDnsPrefetchControl.allow', 'must be a boolean')
    }
    headers.push(['X-DNS-Prefetch-Control', dns.allow ? 'on' : 'off'])
  }
  if (flag(o, 'xDownloadOptions')) headers.push(['X-Download-Options', 'noopen'])
  const xfo = toggle<XFrameOptionsOptions>(
    'xFrameOptions',
    o.xFrameOptions,
    true,
    X_FRAME_OPTIONS_KEYS
  )
  if (xfo) headers.push(['X-Frame-Options', xFrameOptionsValue(xfo, 'xFrameOptions')])
  const xpcdp = toggle<XPermittedCrossDomainPoliciesOptions>(
    'xPermittedCrossDomainPolicies',
    o.xPermittedCrossDomainPolicies,
    true,
    X_PERMITTED_KEYS
  )
  if (xpcdp) {
    headers.push([
      'X-Permitted-Cross-Domain-Policies',
      xPermittedValue(xpcdp, 'xPermittedCrossDomainPolicies'),
    ])
  }
  const removePoweredBy = flag(o, 'xPoweredBy')
  if (flag(o, 'xXssProtection')) headers.push(['X-XSS-Protection', '0'])
  const pp = toggle<PermissionsPolicyOptions>(
    'permissionsPolicy',
    o.permissionsPolicy,
    false,
    PERMISSIONS_POLICY_KEYS
  )
  if (pp) headers.push(['Permissions-Policy', permissionsPolicyValue(pp, 'permissionsPolicy')])
  return { headers, csp, removePoweredBy }
}

/**
 * Sets helmet 8's security headers on every response, the kit's own errors included (CSRF 403,
 * body limit 413, rate limit 429, validation 400, 500). Its place in the chain does not matter:
 * it is marked to run first (see headers-order.ts), so `compose` and every adapter built on it
 * (`toExpress`, `aikitFastify({ use })`, `toNodeHandler`, `withAikit`, `aikitProxy`) run it
 * before the other middleware of the same chain, wherever it is listed. Middleware in a separate
 * chain registered before it (a second `app.use(toExpress(...))` earlier, a Fastify hook) are not
 * covered. A header a later middleware or the route sets itself wins, as with helmet.
 *
 * ```ts
 * app.use(toExpress(securityHeaders({ permissionsPolicy: true, contentSecurityPolicy: { nonce: true } })))
 * ```
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): Middleware {
  const { headers, csp, removePoweredBy } = resolveSecurityHeaders(options)
  const names = headers.map((h) => h[0])
  const values = headers.map((h) => h[1])
  // A static policy joins the other static headers (one loop); a per-request one is applied first.
  let applyCsp = csp?.apply
  if (csp?.staticValue !== undefined) {
    names.unshift(csp.headerName)
    values.unshift(csp.staticValue)
    applyCsp = undefined
  }
  const list = headerList(names, values)
  // Not an async function: no extra promise and await per request (each one is hooked when
  // AsyncLocalStorage is in use), and a synchronous throw still becomes a rejection.
  const middleware = runsFirst(function securityHeaders(ctx, next) {
    try {
      if (applyCsp !== undefined) applyCsp(ctx)
      // Express sets X-Powered-By on the native response before any middleware runs.
      setHeaderList(ctx, list, removePoweredBy)
    } catch (error) {
      return Promise.reject(error)
    }
    return next()
  })
  // Without a per-request CSP nonce the whole effect is a fixed list: the Fastify and Express
  // adapters may then set it in their own hook, with no Context (see core's static-headers.ts).
  return applyCsp === undefined
    ? staticHeaders(middleware, { ...list, removePoweredBy })
    : middleware
}
