/**
 * @module csrf
 * `csrf()`: cross-site request forgery protection without tokens, with Go 1.25's
 * `net/http.CrossOriginProtection` semantics (OWASP accepts Fetch Metadata as a primary defence):
 *
 * 1. `GET`, `HEAD`, `OPTIONS` pass (they must not change state). The *wire* method is checked,
 *    before any method override (`req.originalMethod` under Express).
 * 2. `Sec-Fetch-Site: same-origin` or `none` (typed URL, bookmark) passes; any other value
 *    (`cross-site`, `same-site`) is rejected unless `Origin` is in `trustedOrigins`.
 * 3. Without `Sec-Fetch-Site` (browsers before 2023): an `Origin` whose host equals `Host` passes
 *    (or, with `origin` set, one equal to an app origin, scheme included); any other `Origin`,
 *    `null` included, is rejected unless trusted.
 * 4. Neither header (curl, server-to-server, very old browsers): passes, as in Go, unless
 *    `strictCookies` or the token mode ask for more.
 *
 * Go fails open on a scheme downgrade in step 3 (`Origin: http://app` with `Host: app`); send
 * HSTS (`securityHeaders()` does) or set `origin` to close it.
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { normalizeOrigin } from './cors-origin.js'
import { type CsrfTokenOptions, compileTokens, readCookie, timingSafeEqual } from './csrf-token.js'
import { CsrfRejectedError } from './errors.js'

/** Options of `csrf()`. */
export interface CsrfOptions {
  /** Origins allowed to send cross-origin unsafe requests, e.g. `['https://sso.example.com']`. @default [] */
  trustedOrigins?: readonly string[]
  /**
   * The app's public origin(s), scheme included. When set, an `Origin` without `Sec-Fetch-Site`
   * must equal one of them (instead of matching `Host`), which closes Go's HTTP→HTTPS fail-open
   * and works behind proxies that rewrite `Host`. @default undefined (compare with `Host`)
   */
  origin?: string | readonly string[]
  /**
   * Reject an unsafe request that has neither `Sec-Fetch-Site` nor `Origin` but carries a
   * `Cookie`, unless its `Referer` is same-origin. Breaks cookie-authenticated non-browser
   * clients; stops very old browsers from being used for CSRF. @default false
   */
  strictCookies?: boolean
  /**
   * Signed double-submit token, required on unsafe requests without `Sec-Fetch-Site` (clients
   * that send no Fetch Metadata). Issued on safe requests as a `__Host-` cookie and on
   * `ctx.state.csrfToken`. @default undefined (off)
   */
  token?: CsrfTokenOptions
  /** Requests for which the check is skipped entirely (e.g. a signed webhook). @default undefined */
  skip?: (ctx: Context) => boolean
}
const CSRF_KEYS = Object.keys({
  trustedOrigins: true,
  origin: true,
  strictCookies: true,
  token: true,
  skip: true,
} satisfies Record<keyof CsrfOptions, true>)

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

function originList(value: unknown, field: string): Set<string> {
  const list: unknown[] =
    value === undefined ? [] : typeof value === 'string' ? [value] : (value as unknown[])
  if (!Array.isArray(list)) throw new InvalidOptionsError(field, 'must be an array of origins')
  const out = new Set<string>()
  list.forEach((item, i) => {
    const at = typeof value === 'string' ? field : `${field}[${i}]`
    const normalized = typeof item === 'string' ? normalizeOrigin(item) : undefined
    if (normalized === undefined) {
      throw new InvalidOptionsError(
        at,
        "must be an origin like 'https://app.example.com' (scheme://host[:port], not null)"
      )
    }
    out.add(normalized)
  })
  return out
}

type OverridableRequest = { req?: { originalMethod?: unknown } }

/** The method as sent on the wire: method-override middleware keep it in `req.originalMethod`. */
function wireMethod(ctx: Context): string {
  const original = (ctx as unknown as OverridableRequest).req?.originalMethod
  return typeof original === 'string' ? original.toUpperCase() : ctx.method
}

/** The `host[:port]` of a serialised origin, as Go's `url.Parse(origin).Host`. */
function hostOf(origin: string): string | undefined {
  const i = origin.indexOf('://')
  // What precedes `://` must be a scheme (url.Parse fails otherwise, and Go then rejects).
  if (i <= 0 || !/^[a-z][a-z0-9+.-]*$/i.test(origin.slice(0, i))) return undefined
  const host = origin.slice(i + 3)
  return host === '' || /[/?#@\s]/.test(host) ? undefined : host.toLowerCase()
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)/i.exec(referer)
  return m === null ? undefined : normalizeOrigin(m[1]!)
}

/**
 * CSRF middleware. Rejects with 403 `CSRF_REJECTED` (`CsrfRejectedError`, `details.reason`),
 * before the route or any later middleware runs.
 *
 * ```ts
 * app.use(toExpress(securityHeaders(), csrf({ trustedOrigins: ['https://admin.example.com'] })))
 * ```
 */
export function csrf(options: CsrfOptions = {}): Middleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, CSRF_KEYS)
  const trusted = originList(options.trustedOrigins, 'trustedOrigins')
  const appOrigins = options.origin === undefined ? undefined : originList(options.origin, 'origin')
  if (appOrigins !== undefined && appOrigins.size === 0) {
    throw new InvalidOptionsError('origin', 'must list at least one origin')
  }
  const strictCookies = options.strictCookies ?? false
  if (typeof strictCookies !== 'boolean')
    throw new InvalidOptionsError('strictCookies', 'must be a boolean')
  const skip = options.skip
  if (skip !== undefined && typeof skip !== 'function')
    throw new InvalidOptionsError('skip', 'must be a function')
  const tokens = options.token === undefined ? undefined : compileTokens(options.token)

  const isTrusted = (origin: string | undefined): boolean => {
    if (origin === undefined || trusted.size === 0) return false
    const n = normalizeOrigin(origin)
    return n !== undefined && trusted.has(n)
  }
  const sameOriginAsApp = (origin: string, ctx: Context): boolean => {
    if (appOrigins !== undefined) {
      const n = normalizeOrigin(origin)
      return n !== undefined && appOrigins.has(n)
    }
    const host = ctx.header('host')
    return host !== undefined && hostOf(origin) === host.toLowerCase()
  }

  /** Go's check; returns a reason to reject, or undefined. */
  const check = (ctx: Context, site: string | undefined): CsrfRejectedError | undefined => {
    const origin = ctx.header('origin')
    if (site !== undefined) {
      if (site === 'same-origin' || site === 'none') return undefined
      return isTrusted(origin) ? undefined : new CsrfRejectedError('cross-origin')
    }
    if (origin === undefined) {
      if (strictCookies && ctx.header('cookie') !== undefined) {
        const ref = refererOrigin(ctx.header('referer'))
        if (ref === undefined || !sameOriginAsApp(ref, ctx))
          return new CsrfRejectedError('missing-headers')
      }
      return undefined
    }
    if (sameOriginAsApp(origin, ctx) || isTrusted(origin)) return undefined
    return new CsrfRejectedError('origin-mismatch')
  }

  return async function csrf(ctx, next) {
    if (skip?.(ctx) === true) {
      await next()
      return
    }
    // Safe only when both are: a POST overridden to GET still carries its body and effects, and a
    // GET overridden to DELETE (an override reading the query string) runs the DELETE route.
    if (SAFE.has(wireMethod(ctx)) && SAFE.has(ctx.method)) {
      if (tokens !== undefined) await issueToken(ctx, tokens)
      await next()
      return
    }
    const site = ctx.header('sec-fetch-site')
    const rejected = check(ctx, site)
    if (rejected !== undefined) throw rejected
    if (tokens !== undefined && site === undefined) {
      const header = ctx.header(tokens.headerName)
      const cookie = readCookie(ctx.header('cookie'), tokens.cookieName)
      if (header === undefined || cookie === undefined) throw new CsrfRejectedError('token-missing')
      const same = timingSafeEqual(header, cookie)
      const valid = await tokens.verify(header, await tokens.sessionOf(ctx))
      if (!same || !valid) throw new CsrfRejectedError('token-invalid')
    }
    await next()
  }
}

/** Puts a token for this session on `ctx.state.csrfToken`, re-issuing the cookie when needed. */
async function issueToken(ctx: Context, tokens: ReturnType<typeof compileTokens>): Promise<void> {
  const session = await tokens.sessionOf(ctx)
  const existing = readCookie(ctx.header('cookie'), tokens.cookieName)
  if (existing !== undefined && (await tokens.verify(existing, session))) {
    ctx.state.csrfToken = existing
    return
  }
  const token = await tokens.issue(session)
  ctx.state.csrfToken = token
  // A pending header: every adapter merges it with the route's own cookies when the head is
  // written. Put straight on the Node response, it was lost to a route's
  // `res.setHeader('Set-Cookie', …)`, which replaces what the response holds. Appended, not set,
  // so an earlier middleware's pending cookie stays. Issued once per client: no fast path needed.
  ctx.appendHeader('Set-Cookie', tokens.cookie(token))
}
