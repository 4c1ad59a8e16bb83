/**
 * @module middleware
 * `cacheResponse()`: caches whole HTTP responses of GET/HEAD routes, per subject, in a `Cache`.
 */
import { type Context, InvalidOptionsError, type Middleware } from '@aikit/core'
import { sha256Hex } from '@aikit/core/adapter'
import { fromBase64, toBase64 } from './compression.js'
import { stableStringify } from './llm/stable-stringify.js'
import { duration } from './options.js'
import type { Cache } from './types.js'

/** Options of `cacheResponse`. */
export interface CacheResponseOptions {
  /** Where responses are kept (use a namespace, e.g. `cache.namespace('http')`). Required. */
  cache: Cache
  /** Fresh lifetime of a cached response in ms. Default: the cache's `ttl`. */
  ttl?: number
  /**
   * Who may share a response. Default: `ctx.state.subject` (the user/tenant). A request with no
   * scope is never cached unless `shared` is `true`.
   */
  scope?: (ctx: Context) => string | undefined
  /**
   * Cache responses to requests with no scope under one public scope. Even then a request carrying
   * `Authorization` or `Cookie` with no scope bypasses the cache. Default `false`.
   */
  shared?: boolean
  /** Request headers whose values are part of the key (like `Vary`). Default `['accept', 'accept-language']`. */
  vary?: readonly string[]
  /** Response headers stored and replayed with the body. Default: content-type, content-language, etag, last-modified, cache-control, vary, content-disposition. */
  headers?: readonly string[]
  /** Largest body stored, in bytes; larger responses pass through uncached. Default `1_048_576`. */
  maxBodyBytes?: number
}

interface StoredResponse {
  readonly v: 1
  readonly status: number
  readonly headers: Record<string, string>
  /** Base64 body. */
  readonly body: string
  readonly storedAt: number
}

const DEFAULT_HEADERS = [
  'content-type',
  'content-language',
  'etag',
  'last-modified',
  'cache-control',
  'vary',
  'content-disposition',
]

/** `no-store` / `private` / `no-cache` / a zero max-age in a Cache-Control value. */
function forbidsStore(cacheControl: string | undefined): boolean {
  if (cacheControl === undefined) return false
  return /(^|,)\s*(no-store|private|no-cache|max-age\s*=\s*0|s-maxage\s*=\s*0)\s*(,|$)/i.test(
    cacheControl
  )
}

/**
 * Caches successful (200) GET and HEAD responses keyed on method, path, query, the `vary` request
 * headers and the scope. Sets `X-Cache: HIT | MISS | BYPASS` and, on a hit, `Age`. Never stores an
 * error status, a response with `Set-Cookie`, a `Cache-Control: no-store | private | no-cache`
 * response, an aborted or oversized body, or anything for a request without a scope (unless
 * `shared`). A request with `Cache-Control: no-cache` skips the read; `no-store` skips both.
 * Needs an adapter with `ctx.transformBody` to capture bodies (all AI Kit adapters have it); it
 * registers the request's body transform, so put it after a compression middleware, not before.
 * @throws InvalidOptionsError naming the bad field.
 */
export function cacheResponse(options: CacheResponseOptions): Middleware {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionsError('options', 'must be an object')
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
  const vary = (options.vary ?? ['accept', 'accept-language']).map((h) => h.toLowerCase())
  const kept = (options.headers ?? DEFAULT_HEADERS).map((h) => h.toLowerCase())
  for (const [field, list] of [
    ['vary', vary],
    ['headers', kept],
  ] as const) {
    if (!list.every((h) => typeof h === 'string' && h.length > 0)) {
      throw new InvalidOptionsError(field, 'must be an array of header names')
    }
  }
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new InvalidOptionsError('maxBodyBytes', 'must be a positive integer')
  }
  const setOptions = ttl === undefined ? {} : { ttl }

  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next()
    let scope = scopeOf(ctx)
    if (scope === undefined || scope === '') {
      const privateRequest =
        ctx.header('authorization') !== undefined || ctx.header('cookie') !== undefined
      if (!shared || privateRequest) {
        ctx.setHeader('X-Cache', 'BYPASS')
        return next()
      }
      scope = '\u0000public'
    }
    const requestControl = ctx.header('cache-control') ?? ''
    const noStore = /(^|,)\s*no-store\s*(,|$)/i.test(requestControl)
    const noCache = noStore || /(^|,)\s*no-cache\s*(,|$)/i.test(requestControl)
    const key = `http:v1:${sha256Hex(
      stableStringify({
        m: ctx.method,
        p: ctx.path,
        q: ctx.query,
        s: scope,
        h: vary.map((h) => ctx.header(h) ?? null),
      })
    )}`
    if (!noCache) {
      const hit = await cache.get<StoredResponse>(key)
      if (hit !== undefined && hit.v === 1) {
        const age = Math.max(0, Math.floor((Date.now() - hit.storedAt) / 1000))
        ctx.respond(hit.status, fromBase64(hit.body), {
          ...hit.headers,
          'X-Cache': 'HIT',
          Age: String(age),
        })
        return
      }
    }
    ctx.setHeader('X-Cache', noStore ? 'BYPASS' : 'MISS')
    if (noStore || ctx.transformBody === undefined) return next()
    ctx.transformBody((head) => {
      if (head.status !== 200) return undefined
      if (head.getHeader('set-cookie') !== undefined) return undefined
      if (forbidsStore(head.getHeader('cache-control'))) return undefined
      const headers: Record<string, string> = {}
      for (const name of kept) {
        const value = head.getHeader(name)
        if (value !== undefined) headers[name] = value
      }
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
          if (!tooBig && !ctx.signal.aborted) {
            const body = new Uint8Array(size)
            let offset = 0
            for (const c of chunks) {
              body.set(c, offset)
              offset += c.byteLength
            }
            const stored: StoredResponse = {
              v: 1,
              status: 200,
              headers,
              body: toBase64(body),
              storedAt: Date.now(),
            }
            // Best effort: a failed store write never breaks the response being sent.
            await cache.set(key, stored, setOptions).catch(() => undefined)
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
