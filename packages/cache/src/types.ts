/**
 * @module types
 * The public `Cache` interface and its per-call options.
 */
import type { StoreEventInfo } from '@aikit/core'
import type { CacheTimeouts } from './options.js'

/** Per-call options of `set` (each defaults to the cache-wide option of the same name). */
export interface CacheSetOptions {
  /** Fresh lifetime in ms. */
  ttl?: number
  /** Stale-while-revalidate window after `ttl`, in ms. */
  staleWhileRevalidate?: number
  /** Stale-if-error window after `ttl`, in ms. */
  staleIfError?: number
  /** Tags for `invalidateTags`. Default none. */
  tags?: readonly string[]
}

/** Per-call options of `getOrSet`. */
export interface GetOrSetOptions extends CacheSetOptions {
  /** Fetch timeouts for this call. */
  timeouts?: CacheTimeouts
  /**
   * Skip reading (`no-cache`): always fetch and store the result. Still single-flight: joins a fetch
   * of the key already running in this process, never a call that is only reading the store tier.
   * Default `false`.
   */
  refresh?: boolean
  /** Do not store the fetched value (`no-store`). Default `false`. */
  noStore?: boolean
}

/** What the fetcher receives. */
export interface FetchContext {
  /** The key being filled (without the namespace prefix). */
  readonly key: string
  /** Aborts when the hard timeout fires. */
  readonly signal: AbortSignal
}

/** Counters since the cache was created (shared by a cache and its namespaces). */
export interface CacheStats {
  /** Fresh hits from the memory tier. */
  hits: number
  /** Fresh hits from the store (Redis) tier. */
  storeHits: number
  /** Calls that found nothing fresh in any tier (`get` returned undefined, `getOrSet` fetched in the foreground). */
  misses: number
  /** Stale values served (stale-while-revalidate, soft timeout, stale-if-error). */
  stale: number
  /** `getOrSet` calls that joined a fetch already running in this process. */
  coalesced: number
  /** Fetcher calls made by this instance. */
  fetches: number
  /** Fetchers that exceeded the hard timeout. */
  timeouts: number
  /** Store calls that failed (the cache answered from memory / the fetcher instead). */
  storeErrors: number
  /** Bus publish / subscribe failures. */
  busErrors: number
}

/** Events of `cache.on`. */
export type CacheEvent = 'error' | 'degraded' | 'recovered'

/**
 * Payload of an `error` event: a failure the cache absorbed. `store` and `bus`: the shared tier or
 * the bus failed (counted in `storeErrors` / `busErrors`); `serializer`: a fetched value could not
 * be encoded (a `CacheSerializeError`), so it was answered but not cached.
 */
export interface CacheErrorInfo {
  readonly source: 'store' | 'bus' | 'serializer'
  readonly error: unknown
}

/** A multi-tier cache (see `createCache`). */
export interface Cache {
  /**
   * This cache's namespace path, e.g. `cache` or `cache:users`; `%` and `:` in each name are
   * percent-encoded (`namespace('org:1')` is `cache:org%3A1`, the root namespace `org:1` is
   * `org%3A1`).
   */
  readonly namespaceName: string
  /** The fresh value, from memory or the store; `undefined` when missing or expired. */
  get<T = unknown>(key: string): Promise<T | undefined>
  /** The fresh value from the memory tier only, synchronously (no store round trip). */
  peek<T = unknown>(key: string): T | undefined
  /** Stores a value in both tiers and tells other instances to drop their memory copy. */
  set(key: string, value: unknown, options?: CacheSetOptions): Promise<void>
  /** Deletes a key from both tiers and other instances' memory tiers. */
  delete(key: string): Promise<void>
  /**
   * The cached value, or the fetcher's (stored). Concurrent calls for one key share one fetch in this
   * process, and instances sharing a store share one fetch through a lock in the store.
   */
  getOrSet<T>(
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    options?: GetOrSetOptions
  ): Promise<T>
  /** Makes every entry carrying one of these tags a miss, on every instance. */
  invalidateTags(tags: readonly string[]): Promise<void>
  /** A child cache whose keys live under `<namespace>:<name>`; shares tiers, bus and stats. */
  namespace(name: string): Cache
  /** Invalidates every entry of this namespace (and its children), on every instance. */
  clear(): Promise<void>
  /** Counters (a copy). */
  stats(): CacheStats
  /** Subscribes to `error` (absorbed failures) and the store's `degraded` / `recovered`. */
  on(event: 'error', listener: (info: CacheErrorInfo) => void): () => void
  on(event: 'degraded' | 'recovered', listener: (info: StoreEventInfo) => void): () => void
  /** Disconnects the bus and drops the memory tier. Does not close the store (you own it). */
  close(): Promise<void>
}
