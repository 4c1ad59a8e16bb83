/**
 * @module middleware
 * `cacheResponse()`: caches whole HTTP responses of GET routes, per subject, in a `Cache`; answers
 * HEAD from them; drops them when an unsafe method succeeds on their URI.
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import {
  type ResponseHead,
  ROUTE_COOKIES,
  rejectUnknownOptions,
  sha256Hex,
  TARGET_AUTHORITY,
} from '@aikit/core/adapter'
import { CACHE_INTERNALS, type CacheInternals } from './cache.js'
import { fromBase64, toBase64 } from './compression.js'
import { parseHttpDate } from './http-date.js'
import { invalidateOnSuccess, isUnsafeMethod, uriTag } from './http-invalidation.js'
import { stableStringify } from './llm/stable-stringify.js'
import { duration } from './options.js'
import type { Cache } from './types.js'

/** Options of `cacheResponse`. */
export interface CacheResponseOptions {
  /** Where responses are kept (use a namespace, e.g. `cache.namespace('http')`). Required. */
  cache: Cache
  /**
   * Fresh lifetime of a cached response in ms. Default: the cache's `ttl`. Capped by the route's
   * own lifetime (`Cache-Control: s-maxage` / `max-age`, or `Expires`).
   */
  ttl?: number
  /**
   * Who may share a response. Default: `ctx.state.subject` (the user/tenant). A request with no
   * scope is never cached unless `shared` is `true`.
   */
  scope?: (ctx: Context) => string | undefined
  /**
   * Cache responses to requests with no scope under one public scope. Even then a request carrying
   * credentials with no scope bypasses the cache: `Authorization`, `Cookie`,
   * `Proxy-Authorization`, `X-Api-Key`, `Api-Key`, `X-Auth-Token`, `X-Access-Token`. Default `false`.
   */
  shared?: boolean
  /**
   * Request headers whose values are always part of the key. Default `['accept', 'accept-language']`.
   * The Host and the headers the response names in its own `Vary` are part of it in any case.
   */
  vary?: readonly string[]
  /**
   * Response headers stored and replayed with the body. Default: content-type, content-language,
   * etag, last-modified, cache-control, vary, content-disposition. `content-encoding` is always kept.
   */
  headers?: readonly string[]
  /** Largest body stored, in bytes; larger responses pass through uncached. Default `1_048_576`. */
  maxBodyBytes?: number
}

/** The keys of `CacheResponseOptions`: any other key is refused. */
const CACHE_RESPONSE_OPTION_KEYS = [
  'cache',
  'ttl',
  'scope',
  'shared',
  'vary',
  'headers',
  'maxBodyBytes',
] as const satisfies readonly (keyof CacheResponseOptions)[]

/** A stored response (entry format 2). */
interface StoredResponse {
  readonly v: 2
  readonly status: number
  readonly headers: Record<string, string>
  /** Base64 body. */
  readonly body: string
  /** When the response was generated, on the cache's clock (its own `Age` already deducted). */
  readonly storedAt: number
  /** End of the route's own freshness lifetime on the cache's clock; none when it gave none. */
  readonly expires?: number
}

/**
 * What the base key holds when the response varies on request headers outside the `vary` option
 * (its own `Vary`, or `Accept-Encoding` for an encoded body): those header names. The response is
 * then stored under a second key that adds their values.
 */
interface VaryList {
  readonly v: 2
  readonly vary: readonly string[]
}

type Entry = StoredResponse | VaryList

const DEFAULT_HEADERS = [
  'content-type',
  'content-language',
  'etag',
  'last-modified',
  'cache-control',
  'vary',
  'content-disposition',
]

/** Headers a 304 carries from the stored response (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = [
  'etag',
  'last-modified',
  'cache-control',
  'vary',
  'expires',
  'content-location',
]

/** A list of header names, lower-cased: refuses anything but an array of non-empty strings. */
function headerNames(field: string, value: unknown): string[] {
  if (!Array.isArray(value))
    throw new InvalidOptionsError(field, 'must be an array of header names')
  return value.map((h: unknown) => {
    if (typeof h !== 'string' || h.length === 0 || /[\s,:]/.test(h)) {
      throw new InvalidOptionsError(field, 'must be an array of header names')
    }
    return h.toLowerCase()
  })
}

const DELTA_SECONDS = /^\d+$/

/** Seconds of a delta-seconds value in ms; `NaN` when it is not one (RFC 9111 §1.2.2). */
function deltaMs(value: string | undefined): number {
  if (value === undefined) return Number.NaN
  const unquoted = value.length > 1 && value.startsWith('"') ? value.slice(1, -1) : value
  return DELTA_SECONDS.test(unquoted) ? Math.min(Number(unquoted), 2 ** 31) * 1000 : Number.NaN
}

/**
 * How long the route says its response is fresh, in ms (`s-maxage`, else `max-age`, else
 * `Expires` − `Date`, or `Expires` − `localNow` without a `Date`): `undefined` when it says nothing,
 * `0` when it must not be stored (`no-store`, `private`, `no-cache` in any form, a zero or invalid
 * lifetime, an `Expires` in the past). `Expires` and `Date` are this machine's times: `localNow`
 * is `Date.now()`, never a store's clock.
 */
function routeLifetime(head: ResponseHead, localNow: number): number | undefined {
  const control = head.getHeader('cache-control')
  let sMaxAge: number | undefined
  let maxAge: number | undefined
  if (control !== undefined) {
    for (const part of control.split(',')) {
      const eq = part.indexOf('=')
      const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase()
      if (name === 'no-store' || name === 'private' || name === 'no-cache') return 0
      if (name === 's-maxage' || name === 'max-age') {
        const ms = deltaMs(eq === -1 ? undefined : part.slice(eq + 1).trim())
        // Invalid or repeated freshness information makes the response stale (RFC 9111 §4.2.1).
        if (Number.isNaN(ms) || (name === 's-maxage' ? sMaxAge : maxAge) !== undefined) return 0
        if (name === 's-maxage') sMaxAge = ms
        else maxAge = ms
      }
    }
  }
  if (sMaxAge !== undefined) return sMaxAge
  if (maxAge !== undefined) return maxAge
  const expires = head.getHeader('expires')
  if (expires === undefined) return undefined
  const at = parseHttpDate(expires, localNow)
  // An invalid Expires (e.g. `0`, or seconds) means already expired (RFC 9111 §5.3).
  if (Number.isNaN(at)) return 0
  // An invalid Date is ignored (RFC 9110 §5.6.7).
  const date = parseHttpDate(head.getHeader('date'), localNow)
  return Math.max(0, at - (Number.isNaN(date) ? localNow : date))
}

/** The opaque part of an entity tag, for weak comparison (RFC 9110 §8.8.3.2). */
function opaqueTag(tag: string): string {
  const t = tag.trim()
  return t.startsWith('W/') ? t.slice(2) : t
}

const ETAG_LIST = /(?:W\/)?"[^"]*"|[^,\s]+/g

/** Whether a request's conditions (RFC 9110 §13.2.2) let a hit on `headers` answer 304. */
function notModified(ctx: Context, headers: Record<string, string>): boolean {
  const ifNoneMatch = ctx.header('if-none-match')
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true
    const etag = headers.etag
    if (etag === undefined) return false
    const target = opaqueTag(etag)
    for (const tag of ifNoneMatch.match(ETAG_LIST) ?? []) if (opaqueTag(tag) === target) return true
    return false
  }
  const since = ctx.header('if-modified-since')
  const lastModified = headers['last-modified']
  if (since === undefined || lastModified === undefined) return false
  // An invalid If-Modified-Since is ignored (RFC 9110 §13.1.3); an invalid stored Last-Modified
  // leaves nothing to compare it with.
  const sinceAt = parseHttpDate(since)
  const modifiedAt = parseHttpDate(lastModified)
  return !Number.isNaN(sinceAt) && !Number.isNaN(modifiedAt) && modifiedAt <= sinceAt
}

/** The response's `Vary` names, lower-cased; `undefined` for `Vary: *` (never matches a request). */
function responseVary(value: string | undefined): string[] | undefined {
  if (value === undefined) return []
  const names: string[] = []
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase()
    if (name === '*') return undefined
    if (name !== '') names.push(name)
  }
  return names
}

/** Whether a page carries a per-request CSP nonce (its body must never be replayed). */
function usesNonce(ctx: Context, head: ResponseHead): boolean {
  // `@aikit/security` sets `ctx.state.cspNonce` when it renders a nonce for this request.
  if ((ctx.state as { cspNonce?: unknown }).cspNonce !== undefined) return true
  for (const name of ['content-security-policy', 'content-security-policy-report-only']) {
    if (head.getHeader(name)?.includes("'nonce-") === true) return true
  }
  return false
}

/**
 * Prefix of every key. v3: entries carry their URI's tag (v2 ones did not, and would outlive an
 * unsafe request to their URI), and HEAD shares GET's key.
 */
const KEY_PREFIX = 'http:v3:'

/**
 * Request headers that authenticate their sender: a request carrying one is answered for that
 * sender, so `shared` never stores it for everyone (an API key in `x-api-key` is as private as a
 * session cookie). The usual ones by name; `Context` has no header listing to match a pattern on.
 */
const CREDENTIAL_HEADERS = [
  'authorization',
  'cookie',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
] as const

function carriesCredentials(ctx: Context): boolean {
  for (const name of CREDENTIAL_HEADERS) if (ctx.header(name) !== undefined) return true
  return false
}
/** The request's Host (or HTTP/2 `:authority`), lower-cased. */
function hostOf(ctx: Context): string {
  return (ctx.header('host') ?? ctx.header(':authority') ?? '').toLowerCase()
}

/** The key of one variant: the base key plus the values of the headers the response varies on. */
function variantKey(ctx: Context, base: string, vary: readonly string[]): string {
  return `${KEY_PREFIX}${sha256Hex(
    stableStringify({ k: base, n: vary, h: vary.map((h) => ctx.header(h) ?? null) })
  )}`
}

/**
 * Caches successful (200) GET responses keyed on Host, path, query, the `vary` request headers and
 * the scope, and on the request headers named by the response's own `Vary` (plus `Accept-Encoding`
 * when the body has a `Content-Encoding`, which is always stored and replayed), and answers HEAD
 * requests from them (headers and `Content-Length`, no body; a HEAD alone stores nothing). Sets
 * `X-Cache: HIT | MISS | BYPASS` and, on a hit, `Age`; a hit answers a matching `If-None-Match` /
 * `If-Modified-Since` with 304. An entry lives for the `ttl`, capped by the route's own lifetime
 * (`s-maxage`, `max-age`, `Expires`). A response below 400 to an unsafe method (POST, PUT, PATCH,
 * DELETE, any method but GET, HEAD, OPTIONS, TRACE) invalidates every entry of its Host and path,
 * for every query, scope and variant (RFC 9111 §4.4). Never stores an error status, a
 * response with `Set-Cookie`, `Vary: *`, `Cache-Control: no-store | private | no-cache` or a zero
 * lifetime, a page with a per-request CSP nonce, an aborted or oversized body, or anything for a
 * request without a scope (unless `shared`). A request with `Cache-Control: no-cache` skips the
 * read; `no-store` skips both.
 * Needs an adapter with `ctx.transformBody` to capture bodies (all AI Kit adapters have it); it
 * registers the request's body transform, so put it after a compression middleware, not before.
 * @throws InvalidOptionsError naming the bad field, an unknown key included (`maxBodyByte`).
 */
export function cacheResponse(options: CacheResponseOptions): Middleware {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionsError('options', 'must be an object')
  rejectUnknownOptions(options, CACHE_RESPONSE_OPTION_KEYS)
  const { cache } = options
  if (cache === null || typeof cache?.get !== 'function' || typeof cache.set !== 'function') {
    throw new InvalidOptionsError('cache', 'must be a cache from createCache()')
  }
  const ttl =
    options.ttl === undefined ? undefined : duration('ttl', options.ttl, 0, { positive: true })
  const scopeOf = options.scope ?? ((ctx: Context) => ctx.state.subject)
  if (typeof scopeOf !== 'function') throw new InvalidOptionsError('scope', 'must be a function')
  const shared = options.shared ?? false
  if (typeof shared !== 'boolean') throw new InvalidOptionsError('shared', 'must be a boolean')
  const vary = headerNames('vary', options.vary ?? ['accept', 'accept-language'])
  const kept = headerNames('headers', options.headers ?? DEFAULT_HEADERS)
  // The body's bytes mean nothing without their encoding: always kept.
  if (!kept.includes('content-encoding')) kept.push('content-encoding')
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new InvalidOptionsError('maxBodyBytes', 'must be a positive integer')
  }
  const internals = (cache as { [CACHE_INTERNALS]?: () => CacheInternals })[CACHE_INTERNALS]?.()
  const now = internals?.now ?? Date.now
  /** The longest an entry lives: the option, else the cache's own ttl (unknown for a foreign cache). */
  const maxTtl = ttl ?? internals?.ttl ?? Number.POSITIVE_INFINITY
  // The path tags' invalidation times must outlive the entries this middleware writes.
  if (ttl !== undefined) internals?.declareTtl(ttl)

  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      if (!isUnsafeMethod(ctx.method)) return next()
      return invalidateOnSuccess(ctx, next, cache, uriTag(hostOf(ctx), ctx.path))
    }
    // An absolute-form target (`GET http://other.example/docs`): the route sees another request
    // than Host and path say, see `TARGET_AUTHORITY`. No client sends one to an origin server.
    if ((ctx as { [TARGET_AUTHORITY]?: string })[TARGET_AUTHORITY] !== undefined) {
      ctx.setHeader('X-Cache', 'BYPASS')
      return next()
    }
    let scope = scopeOf(ctx)
    if (scope === undefined || scope === '') {
      if (!shared || carriesCredentials(ctx)) {
        ctx.setHeader('X-Cache', 'BYPASS')
        return next()
      }
      scope = '\u0000public'
    }
    const requestControl = ctx.header('cache-control') ?? ''
    const noStore = /(^|,)\s*no-store\s*(,|$)/i.test(requestControl)
    const noCache = noStore || /(^|,)\s*no-cache\s*(,|$)/i.test(requestControl)
    const host = hostOf(ctx)
    // No method: only GET responses are stored, and a HEAD is answered from them.
    const key = `${KEY_PREFIX}${sha256Hex(
      stableStringify({
        a: host,
        p: ctx.path,
        q: ctx.query,
        s: scope,
        h: vary.map((h) => ctx.header(h) ?? null),
      })
    )}`
    if (!noCache) {
      let hit = await cache.get<Entry>(key)
      // A response that varies on more request headers: one more lookup, with their values.
      if (hit !== undefined && hit.v === 2 && 'vary' in hit) {
        hit = Array.isArray(hit.vary)
          ? await cache.get<Entry>(variantKey(ctx, key, hit.vary))
          : undefined
      }
      if (hit !== undefined && hit.v === 2 && 'body' in hit) {
        const at = now()
        if (hit.expires === undefined || at < hit.expires) {
          const age = String(Math.max(0, Math.floor((at - hit.storedAt) / 1000)))
          if (notModified(ctx, hit.headers)) {
            const headers: Record<string, string> = { 'X-Cache': 'HIT', Age: age }
            for (const name of NOT_MODIFIED_HEADERS) {
              const value = hit.headers[name]
              if (value !== undefined) headers[name] = value
            }
            ctx.respond(304, undefined, headers)
            return
          }
          // To a HEAD the adapter sends the body's Content-Length and no body.
          ctx.respond(hit.status, fromBase64(hit.body), {
            ...hit.headers,
            'X-Cache': 'HIT',
            Age: age,
          })
          return
        }
      }
    }
    ctx.setHeader('X-Cache', noStore ? 'BYPASS' : 'MISS')
    // A HEAD response has no body to store (adapters run no body transform for it).
    if (noStore || ctx.method === 'HEAD' || ctx.transformBody === undefined) return next()
    const tags = [uriTag(host, ctx.path)]
    // A response that sets a cookie is never stored: on Next the adapter must first read the
    // cookies Next adds after the route returned (`cookies().set()`), or the head shows none.
    ;(ctx as Context & { [ROUTE_COOKIES]?: () => void })[ROUTE_COOKIES]?.()
    ctx.transformBody((head) => {
      if (head.status !== 200) return undefined
      if (head.getHeader('set-cookie') !== undefined) return undefined
      const headAt = now()
      const localNow = Date.now()
      const lifetime = routeLifetime(head, localNow)
      if (lifetime === 0) return undefined
      // The response's current age (RFC 9111 §4.2.3): its `Age` (from an upstream cache), or how
      // long ago its `Date` was, on this machine's clock; it counts against the lifetime.
      const ageMs = deltaMs(head.getHeader('age'))
      const dateAt = parseHttpDate(head.getHeader('date'), localNow)
      const currentAge = Math.max(
        Number.isNaN(ageMs) ? 0 : ageMs,
        Number.isNaN(dateAt) ? 0 : localNow - dateAt
      )
      if (lifetime !== undefined && lifetime <= currentAge) return undefined
      const varies = responseVary(head.getHeader('vary'))
      if (varies === undefined) return undefined
      if (usesNonce(ctx, head)) return undefined
      const headers: Record<string, string> = {}
      for (const name of kept) {
        const value = head.getHeader(name)
        if (value !== undefined) headers[name] = value
      }
      const encoding = headers['content-encoding']
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        varies.push('accept-encoding')
      }
      const extra = [...new Set(varies.filter((name) => !vary.includes(name)))].sort()
      // On the cache's clock: a duration from now, whatever the skew between this machine and
      // the store.
      const storedAt = headAt - currentAge
      const expires = lifetime === undefined ? undefined : storedAt + lifetime
      // A body that does not have the length its head declares (a `respond` stream that ended
      // short: the adapter breaks that response once the bytes are through) is not a response
      // to replay.
      const declared = head.getHeader('content-length')
      const chunks: Uint8Array[] = []
      let size = 0
      let tooBig = false
      const take = (chunk: Uint8Array | undefined): void => {
        if (chunk === undefined || tooBig) return
        size += chunk.byteLength
        if (size > maxBodyBytes) {
          tooBig = true
          chunks.length = 0
        } else {
          chunks.push(chunk.slice())
        }
      }
      return {
        write(chunk) {
          take(chunk)
          return chunk
        },
        async end(last) {
          take(last)
          const entryTtl = Math.min(maxTtl, expires === undefined ? maxTtl : expires - now())
          const whole = declared === undefined || Number(declared) === size
          if (!tooBig && whole && !ctx.signal.aborted && entryTtl >= 1 && stillStorable(head)) {
            const body = new Uint8Array(size)
            let offset = 0
            for (const c of chunks) {
              body.set(c, offset)
              offset += c.byteLength
            }
            const stored: StoredResponse = {
              v: 2,
              status: 200,
              headers,
              body: toBase64(body),
              storedAt,
              ...(expires === undefined ? {} : { expires }),
            }
            const setOptions = Number.isFinite(entryTtl)
              ? { ttl: Math.ceil(entryTtl), tags }
              : { tags }
            // Best effort: a failed store write never breaks the response being sent.
            try {
              if (extra.length === 0) await cache.set(key, stored, setOptions)
              else {
                const list: VaryList = { v: 2, vary: extra }
                // The list lives as long as any variant may: a short-lived variant written last
                // must not make the longer-lived ones unreachable.
                const listOptions = Number.isFinite(maxTtl)
                  ? { ttl: Math.ceil(maxTtl), tags }
                  : { tags }
                await Promise.all([
                  cache.set(key, list, listOptions),
                  cache.set(variantKey(ctx, key, extra), stored, setOptions),
                ])
              }
            } catch {
              // Ignored, see above.
            }
          }
          return last ?? new Uint8Array(0)
        },
        abort() {
          chunks.length = 0
        },
      }
    })
    return next()
  }
}

/**
 * Whether the head as it went out still allows storing. A layer outside the kit may add headers
 * after the kit's head hook ran (an on-headers session or cookie layer wrapped around
 * `toNodeHandler` sets its `Set-Cookie` in a `writeHead` wrapper installed before the kit's, so it
 * runs after it): what such a layer added is seen here, once the body is through.
 */
function stillStorable(head: ResponseHead): boolean {
  return head.getHeader('set-cookie') === undefined && routeLifetime(head, Date.now()) !== 0
}
