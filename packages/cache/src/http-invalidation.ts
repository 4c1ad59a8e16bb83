/**
 * @module http-invalidation
 * RFC 9111 §4.4 for `cacheResponse()`: a non-error response to an unsafe method invalidates what is
 * stored for its target URI, whoever stored it and whatever its query or variant, through a tag
 * every stored response of a URI carries.
 */
import type { Context, Next } from '@aikit/core'
import { sha256Hex } from '@aikit/core/adapter'
import { stableStringify } from './llm/stable-stringify.js'
import type { Cache } from './types.js'

/** The methods RFC 9110 §9.2.1 defines as safe; any other method, unknown ones included, is not. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** Whether a request with this (upper-case) method can change its target resource. */
export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method)
}

/**
 * The tag of every response stored for one URI: its host (lower-cased) and path, so every query,
 * scope and `Vary` variant of the path goes with it (more than the exact target URI, never less).
 */
export function uriTag(host: string, path: string): string {
  return `http:uri:${sha256Hex(stableStringify([host, path]))}`
}

/**
 * Runs the rest of the chain; when the final status is below 400, invalidates `tag` in `cache`.
 * The invalidation starts just before the head is written (this process never serves the old page
 * once the client can see the answer); other instances learn it as from `invalidateTags` (the bus,
 * or within a second through the store). A failed invalidation never fails the request.
 */
export async function invalidateOnSuccess(
  ctx: Context,
  next: Next,
  cache: Cache,
  tag: string
): Promise<void> {
  let pending: Promise<void> | undefined
  const invalidate = (): void => {
    const status = ctx.status
    if (pending !== undefined || status === undefined || status >= 400) return
    pending = cache.invalidateTags([tag]).catch(() => undefined)
  }
  ctx.onHeaders(invalidate)
  await next()
  // In case the head was written without the hooks (or before they were registered).
  invalidate()
  await pending
}
