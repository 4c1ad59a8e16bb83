/**
 * @module options
 * `createCache` options, their defaults (declared once, here) and their validation.
 */
import { InvalidOptionsError, type Store } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { type BusOption, validateBus } from './bus.js'

/** Turns values into store text and back. */
export interface Serializer {
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

/**
 * The longest delay a timer can wait (2^31 - 1 ms, about 24.8 days): `setTimeout` fires a longer
 * one after 1 ms. Durations the cache waits on with a timer are refused above it.
 */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * The longest finite duration (`Number.MAX_SAFE_INTEGER` ms): entry times stay whole numbers that
 * print as digits and that Redis takes as a `PX` expiry.
 */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER

/** Fetch timeouts of `getOrSet`, in milliseconds (at most `2_147_483_647`, or `Infinity`). */
export interface CacheTimeouts {
  /**
   * When a stale value exists and the fetcher has not answered after `soft` ms, serve the stale value
   * and let the fetch finish in the background (it still fills the cache). Default `Infinity` (off).
   */
  soft?: number
  /**
   * Give up on the fetcher after `hard` ms: its `signal` aborts, the stale value is served if
   * `staleIfError` allows, else `CacheTimeoutError` (504) is thrown. Default `Infinity` (off).
   */
  hard?: number
}

/** The keys of `CacheTimeouts`: any other key in `timeouts` is refused. */
export const TIMEOUT_OPTION_KEYS = [
  'soft',
  'hard',
] as const satisfies readonly (keyof CacheTimeouts)[]

/** Options of `createCache`. */
export interface CacheOptions {
  /**
   * The shared tier: usually `redisStore(ioredis)` from `@aikit/core/redis`. Its failures never fail a
   * cache call: the cache serves from memory and counts them. Default none (memory tier only).
   */
  store?: Store
  /** Memory tier bounds (LRU). Defaults `{ maxEntries: 10_000, maxBytes: 64 MiB }`. */
  memory?: {
    /** Most entries kept in memory. Default `10_000`. */
    maxEntries?: number
    /**
     * Most bytes kept in memory, measured as the UTF-8 length of each value's serialized text (a
     * value the serializer cannot encode is not cached). Default `67_108_864`.
     */
    maxBytes?: number
  }
  /** How long a value is fresh, in ms. Default `60_000`. */
  ttl?: number
  /** After `ttl`, serve the stale value for this long while one background fetch refreshes it. Default `0`. */
  staleWhileRevalidate?: number
  /** After `ttl`, serve the stale value for this long when the fetcher fails or times out. Default `0`. */
  staleIfError?: number
  /** Fetch timeouts (see `CacheTimeouts`). Default `{ soft: Infinity, hard: Infinity }`. */
  timeouts?: CacheTimeouts
  /** Random ± fraction applied to every TTL so entries written together do not expire together. Default `0.1`. */
  jitter?: number
  /** Prefix of every key (and an implicit tag, see `cache.clear()`). Default `'cache'`. */
  namespace?: string
  /** Value codec for the shared tier (the memory tier keeps references). Default JSON. */
  serializer?: Serializer
  /**
   * gzip values whose serialized text is at least `threshold` characters (default `1024`) before
   * they go to the store (Web `CompressionStream`, edge-safe). Default `false`.
   */
  compression?: false | { threshold?: number }
  /**
   * How long the cross-process fill lock lives, in ms (at most `2_147_483_647`): other instances
   * wait for the filler at most this long before trying themselves. Default `10_000`, or
   * `timeouts.hard` when that is finite.
   */
  lockTtl?: number
  /**
   * How long a fetch that is still running keeps the cross-process fill lock: while it runs, the
   * lock is renewed (for another `lockTtl`, every `lockTtl / 3`) until this long after the fetch
   * started, so other instances wait for its value (up to their own `timeouts.hard`) instead of
   * calling the fetcher again once `lockTtl` lapses: an LLM answer takes 10-90 s, the lock 10 s.
   * A holder that crashed or lost the store stops renewing, and its lock lapses after `lockTtl`;
   * a fetch that never settles holds the key this long. Not longer than `lockTtl`: no renewal.
   * Needs a store. At most `2_147_483_647` ms. Default `120_000`, or `timeouts.hard` when finite.
   */
  lockMaxHold?: number
  /**
   * How often a waiting instance re-checks the store when no bus message arrives, in ms (at most
   * `2_147_483_647`). Default `50`.
   */
  pollInterval?: number
  /**
   * Redis Pub/Sub bus that keeps other instances' memory tiers coherent (invalidations only, never
   * values) and wakes cross-process waiters at once. Default none (other instances' memory entries
   * live until their TTL).
   */
  bus?: BusOption
  /**
   * Clock in epoch ms, injectable for tests. Default: the store's clock (`store.now()`, which
   * `redisStore` corrects to the Redis server's `TIME`), so instances with skewed clocks agree on
   * entries' freshness and on tag invalidations; `Date.now` without a store.
   */
  now?: () => number
}

/**
 * The keys of `CacheOptions` and of its tier options (`memory`, `compression`): any other key is
 * refused. `store`, `serializer` and `bus`'s connections are objects of their own, not checked.
 */
const CACHE_OPTION_KEYS = [
  'store',
  'memory',
  'ttl',
  'staleWhileRevalidate',
  'staleIfError',
  'timeouts',
  'jitter',
  'namespace',
  'serializer',
  'compression',
  'lockTtl',
  'lockMaxHold',
  'pollInterval',
  'bus',
  'now',
] as const satisfies readonly (keyof CacheOptions)[]
const MEMORY_OPTION_KEYS = [
  'maxEntries',
  'maxBytes',
] as const satisfies readonly (keyof NonNullable<CacheOptions['memory']>)[]
const COMPRESSION_OPTION_KEYS = ['threshold'] as const satisfies readonly (keyof Exclude<
  CacheOptions['compression'],
  false | undefined
>)[]

/** Validated options with defaults applied. */
export interface ResolvedCacheOptions {
  store: Store | undefined
  maxEntries: number
  maxBytes: number
  ttl: number
  staleWhileRevalidate: number
  staleIfError: number
  soft: number
  hard: number
  jitter: number
  namespace: string
  serializer: Serializer
  compressionThreshold: number
  lockTtl: number
  lockMaxHold: number
  pollInterval: number
  bus: BusOption | undefined
  now: () => number
}

export const jsonSerializer: Serializer = Object.freeze({
  serialize: (value: unknown) => {
    const text = JSON.stringify(value)
    // What JSON.stringify writes for a Map, Set, ArrayBuffer, RegExp, Error... (`{}`), a typed
    // array (`{"0":...}`), a Buffer (`{"type":"Buffer",...}`) or NaN / Infinity (`null`): another
    // instance would read that back, not the value. An Error with own properties (`status`,
    // `code`) is written as a plain object of them (`{"status":404}`), with no mark to look for,
    // so a text holding any object is walked. A text holding no object and no null (a string, a
    // number, an array of them) is not: no Error or other lossy value can be in it.
    if (text !== undefined && (text.includes('{') || text.includes('null'))) {
      refuseLossy(value, new Set())
    }
    return text
  },
  deserialize: (text: string) => JSON.parse(text) as unknown,
})

/** Throws (a `TypeError`, as JSON.stringify does) on a value JSON writes as something else. */
function refuseLossy(value: unknown, seen: Set<object>): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new TypeError(`${value} cannot be stored as JSON (it would read back as null)`)
    }
    return
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return
  // A plain object or array (all a parsed JSON body holds) is none of the lossy kinds: the walk,
  // run for every value holding an object, skips those checks for them.
  const proto = Object.getPrototypeOf(value)
  const plain = proto === Object.prototype || proto === Array.prototype || proto === null
  // Before `toJSON`: a Buffer has one, and another instance would read back `{ type, data }`.
  if (!plain && isBuffer(value)) throw lossyError(value)
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return
  seen.add(value)
  if (Array.isArray(value)) {
    for (const item of value) refuseLossy(item, seen)
    return
  }
  if (!plain && lossy(value)) throw lossyError(value)
  for (const key of Object.keys(value)) refuseLossy((value as Record<string, unknown>)[key], seen)
}

function lossyError(value: object): TypeError {
  return new TypeError(
    `a ${value.constructor?.name ?? 'value'} cannot be stored as JSON (it would read back as a plain object)`
  )
}

/** Node's `Buffer` (a typed array whose `toJSON` writes `{ type: 'Buffer', data }`); none on the edge. */
function isBuffer(value: object): boolean {
  const nodeBuffer = (globalThis as { Buffer?: { isBuffer?: (v: unknown) => boolean } }).Buffer
  return typeof nodeBuffer?.isBuffer === 'function' && nodeBuffer.isBuffer(value)
}

function lossy(value: object): boolean {
  return (
    value instanceof Map ||
    value instanceof Set ||
    value instanceof WeakMap ||
    value instanceof WeakSet ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    value instanceof RegExp ||
    value instanceof Promise ||
    // Written as its own enumerable properties only (message and stack are lost): `{}`, or a
    // plain object of them (a Node system error's `code`, an HTTP error's `status`). One with a
    // `toJSON` of its own never gets here (`refuseLossy` takes it as it writes itself).
    value instanceof Error ||
    // An Error of another realm (a `vm` context, an iframe) is no `instanceof Error` here.
    Object.prototype.toString.call(value) === '[object Error]' ||
    (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)
  )
}

/**
 * Checks a duration in ms: finite non-negative (or positive), or `Infinity` when allowed. `timer`:
 * the cache waits on it with `setTimeout`, so it must be at most `MAX_TIMER_MS` (`Infinity` aside).
 */
export function duration(
  field: string,
  value: unknown,
  fallback: number,
  { positive = false, infinite = false, timer = false } = {}
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (positive && value === 0)) {
    throw new InvalidOptionsError(
      field,
      `must be a ${positive ? 'positive' : 'non-negative'} number of milliseconds`
    )
  }
  if (!Number.isFinite(value)) {
    if (!infinite) throw new InvalidOptionsError(field, 'must be finite')
    return value
  }
  if (timer && value > MAX_TIMER_MS) {
    throw new InvalidOptionsError(
      field,
      `must be at most ${MAX_TIMER_MS} ms (the longest timer delay)${infinite ? ', or Infinity for none' : ''}`
    )
  }
  // Entry times are written as whole milliseconds (envelope digits, Redis `PX`): past this, a
  // time prints as `1e+21` and Redis refuses the expiry, so no entry could reach the store tier.
  if (value > MAX_DURATION_MS) {
    throw new InvalidOptionsError(
      field,
      `must be at most ${MAX_DURATION_MS} ms (Number.MAX_SAFE_INTEGER, about 285,000 years)`
    )
  }
  return value
}

function positiveInt(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(field, 'must be a positive integer')
  }
  return value
}

/**
 * Validates `createCache` options; throws `InvalidOptionsError` naming the bad field, an unknown key
 * included (`staleWhileRevalidte`, `memory.maxEntires`): a misspelt option is not left to its default.
 */
export function resolveCacheOptions(options: CacheOptions): ResolvedCacheOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  if ('tags' in options) {
    // A cache-wide `tags` (DESIGN.md's first sketch) never existed: tags belong to each entry.
    throw new InvalidOptionsError(
      'tags',
      'is not a cache option: tags are per entry, set(key, value, { tags }) or getOrSet(key, fetcher, { tags })'
    )
  }
  rejectUnknownOptions(options, CACHE_OPTION_KEYS)
  const { store } = options
  if (store !== undefined) {
    const s = store as unknown as Record<string, unknown>
    for (const method of ['get', 'set', 'delete', 'run', 'key', 'on']) {
      if (typeof s?.[method] !== 'function') {
        throw new InvalidOptionsError(
          'store',
          `must be a Store (memoryStore() or redisStore(client)); missing ${method}()`
        )
      }
    }
  }
  const memory = options.memory ?? {}
  if (memory === null || typeof memory !== 'object')
    throw new InvalidOptionsError('memory', 'must be an object')
  rejectUnknownOptions(memory, MEMORY_OPTION_KEYS, 'memory.')
  const timeouts = options.timeouts ?? {}
  if (timeouts === null || typeof timeouts !== 'object')
    throw new InvalidOptionsError('timeouts', 'must be an object')
  rejectUnknownOptions(timeouts, TIMEOUT_OPTION_KEYS, 'timeouts.')
  const soft = duration('timeouts.soft', timeouts.soft, Number.POSITIVE_INFINITY, {
    positive: true,
    infinite: true,
    timer: true,
  })
  const hard = duration('timeouts.hard', timeouts.hard, Number.POSITIVE_INFINITY, {
    positive: true,
    infinite: true,
    timer: true,
  })
  const jitter = options.jitter ?? 0.1
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) {
    throw new InvalidOptionsError('jitter', 'must be a fraction in [0, 1)')
  }
  const namespace = options.namespace ?? 'cache'
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.includes('\u0000')) {
    throw new InvalidOptionsError('namespace', 'must be a non-empty string without NUL characters')
  }
  const serializer = options.serializer ?? jsonSerializer
  if (typeof serializer?.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
    throw new InvalidOptionsError('serializer', 'must have serialize() and deserialize()')
  }
  const compression = options.compression ?? false
  let compressionThreshold = Number.POSITIVE_INFINITY
  if (compression !== false) {
    if (compression === null || typeof compression !== 'object') {
      throw new InvalidOptionsError('compression', 'must be false or { threshold }')
    }
    rejectUnknownOptions(compression, COMPRESSION_OPTION_KEYS, 'compression.')
    compressionThreshold = positiveInt('compression.threshold', compression.threshold, 1024)
  }
  const pollInterval = duration('pollInterval', options.pollInterval, 50, {
    positive: true,
    timer: true,
  })
  const lockMaxHold = duration(
    'lockMaxHold',
    options.lockMaxHold,
    Number.isFinite(hard) ? hard : 120_000,
    { timer: true }
  )
  if (store === undefined) {
    // Options that only act on the shared tier: without one they could not take effect.
    if (compression !== false) {
      throw new InvalidOptionsError(
        'compression',
        'needs a store: it gzips values written to the shared tier, and this cache has none (set `store`, e.g. redisStore(client))'
      )
    }
    if (options.lockMaxHold !== undefined) {
      throw new InvalidOptionsError(
        'lockMaxHold',
        "needs a store: it bounds how long a running fetch keeps the shared tier's fill lock, and this cache has none (set `store`, e.g. redisStore(client))"
      )
    }
    if (options.pollInterval !== undefined) {
      throw new InvalidOptionsError(
        'pollInterval',
        "needs a store: it paces waiting on another instance's fill through the shared tier, and this cache has none (set `store`, e.g. redisStore(client))"
      )
    }
  }
  const storeNow = store?.now
  const now =
    options.now ??
    (typeof storeNow === 'function' && store !== undefined ? () => storeNow.call(store) : Date.now)
  if (typeof now !== 'function') throw new InvalidOptionsError('now', 'must be a function')
  return {
    store,
    maxEntries: positiveInt('memory.maxEntries', memory.maxEntries, 10_000),
    maxBytes: positiveInt('memory.maxBytes', memory.maxBytes, 64 * 1024 * 1024),
    ttl: duration('ttl', options.ttl, 60_000, { positive: true }),
    staleWhileRevalidate: duration('staleWhileRevalidate', options.staleWhileRevalidate, 0),
    staleIfError: duration('staleIfError', options.staleIfError, 0),
    soft,
    hard,
    jitter,
    namespace,
    serializer,
    compressionThreshold,
    lockTtl: duration('lockTtl', options.lockTtl, Number.isFinite(hard) ? hard : 10_000, {
      positive: true,
      timer: true,
    }),
    lockMaxHold,
    pollInterval,
    bus: options.bus === undefined ? undefined : validateBus(options.bus),
    now,
  }
}
