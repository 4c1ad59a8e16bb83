/**
 * @module errors
 * Errors raised by the cache. Options errors use the kit-wide `InvalidOptionsError`.
 */
import { AikitError } from '@aikit/core'

/** 504: a `getOrSet` fetcher ran past its hard timeout and no stale value could be served. */
export class CacheTimeoutError extends AikitError {
  /** The hard timeout that was exceeded, in milliseconds. */
  readonly timeoutMs: number
  constructor(timeoutMs: number) {
    super('CACHE_TIMEOUT', 504, `cache fetcher timed out after ${timeoutMs} ms`, {
      details: { timeoutMs },
    })
    this.timeoutMs = timeoutMs
  }
}

/** 400: an LLM cache key was requested without a scope (and without an explicit `scope: 'global'`). */
export class CacheScopeRequiredError extends AikitError {
  constructor() {
    super(
      'CACHE_SCOPE_REQUIRED',
      400,
      "an LLM cache key needs a scope (tenant or user id); pass scope: 'global' to share answers between all callers"
    )
  }
}
