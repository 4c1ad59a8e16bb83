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

/**
 * 500: the cache's `serializer` could not encode a value (a `BigInt`, a cycle, a serializer that
 * does not return a string). Such a value is cached in no tier: its size cannot be measured for the
 * memory tier's byte bound, nor can it be shared through the store. `set` rejects with it; a
 * `getOrSet` still answers its fetched value and reports this error on `cache.on('error')`
 * (`source: 'serializer'`). The serializer's own error is the `cause`.
 */
export class CacheSerializeError extends AikitError {
  constructor(cause: unknown) {
    super('CACHE_SERIALIZE', 500, 'the cache serializer could not encode the value', { cause })
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
