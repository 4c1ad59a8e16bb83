/**
 * @module store/memory
 * `memoryStore()`: the default store. Bounded (LRU), lazy expiry (no timer per key), atomic ops run
 * synchronously in-process. Edge-safe.
 */
import { rejectUnknownOptions } from '../known-options.js'
import { encodeArgs } from './define-op.js'
import { InvalidOptionsError, StoreUnavailableError } from './errors.js'
import { assertSameSlot, formatKey, parseKey, storedTag, validatePrefix } from './keys.js'
import { createListeners } from './listeners.js'
import { toRedisReply } from './lua-values.js'
import { createMemoryData, createNativeData, createTaggedNativeData } from './memory-data.js'
import { MemoryDb } from './memory-db.js'
import { ttl } from './ttl.js'
import type {
  AtomicOp,
  Store,
  StoreEvent,
  StoreEventInfo,
  StoreSetOptions,
  SyncRun,
} from './types.js'

/** Options of `memoryStore`. */
export interface MemoryStoreOptions {
  /** Maximum number of keys; the least recently used key is evicted beyond it. Default `100_000`. */
  maxKeys?: number
  /**
   * `false`: never evict a live key. A full store first drops expired keys; if there is still no
   * room, a call that would add keys (`set`, or an op on keys the store does not hold, as its
   * `newKeys` counts them) fails with
   * `StoreUnavailableError` (reason `'full'`) and changes nothing. For state that must not be
   * forgotten (a budget's spend: an evicted ledger would let a subject spend its limit again).
   * Default `true` (a cache or a rate limiter forgets its least recently used keys).
   */
  evict?: boolean
  /** Clock in milliseconds, injectable for tests. Default `Date.now`. */
  now?: () => number
  /** Key prefix used by `store.key()`. Default `'aikit'`. */
  prefix?: string
}

/** A `Store` kept in this process's memory. */
export interface MemoryStore extends Store {
  readonly kind: 'memory'
  readonly local: true
  /** `Store.run`, plus `run.sync` and `run.syncTagged` (see `SyncRun`): ops complete synchronously. */
  readonly run: Store['run'] & Required<SyncRun>
  /** Keys held (including expired ones not yet touched) and live keys evicted by the bound. */
  stats(): { keys: number; evictions: number }
  /** The store's clock (its `now` option, `Date.now` by default), in whole ms. */
  now(): number
}

/** The keys of `MemoryStoreOptions`: any other is refused (a misspelt one kept its default). */
const MEMORY_STORE_OPTION_KEYS = Object.keys({
  maxKeys: true,
  evict: true,
  now: true,
  prefix: true,
} satisfies Record<keyof MemoryStoreOptions, true>)

/** Creates an in-process store. State is per process: use `redisStore` to share it between instances. */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, MEMORY_STORE_OPTION_KEYS)
  const maxKeys = options.maxKeys ?? 100_000
  if (!Number.isInteger(maxKeys) || maxKeys < 1) {
    throw new InvalidOptionsError('maxKeys', 'must be a positive integer')
  }
  const evict = options.evict ?? true
  if (typeof evict !== 'boolean') throw new InvalidOptionsError('evict', 'must be a boolean')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new InvalidOptionsError('now', 'must be a function')
  const prefix = validatePrefix(options.prefix ?? 'aikit')

  const db = new MemoryDb(maxKeys, () => now(), {
    keyOf: (tag, part) => formatKey(prefix, tag, [part]),
    parse: (key) => parseKey(prefix, key),
  })
  const native = createNativeData(db)
  const tagged = createTaggedNativeData(db)
  const listeners = createListeners<StoreEvent, StoreEventInfo>()
  let closed = false

  /** The time of the room check running (`holds` reads at it). */
  let roomAt = 0
  const holds = (key: string): boolean => db.holdsLive(key, roomAt)
  /**
   * With `evict: false`: throws, before any change, when `keys` need room the store lacks (as
   * many new keys as `op.newKeys` says a run adds, else one per key not held).
   */
  const assertRoom = (
    keys: readonly string[],
    at: number,
    op?: AtomicOp<never, unknown>,
    input?: unknown
  ): void => {
    roomAt = at
    let missing = op?.newKeys === undefined ? -1 : op.newKeys(keys, input as never, holds)
    // Not a count (a faulty op): every key not held, as without one.
    if (!(missing >= 0)) {
      missing = 0
      for (let i = 0; i < keys.length; i++) if (!holds(keys[i] as string)) missing++
    }
    if (missing === 0 || db.roomFor(missing, at)) return
    throw new StoreUnavailableError(
      `memory store is full (maxKeys ${maxKeys}, evict: false): no room for new keys`,
      { reason: 'full' }
    )
  }

  // Every method body runs synchronously, so each call (and each op) is atomic in-process;
  // `attempt` turns throws into rejections.
  const attempt = <T>(fn: () => T): Promise<T> => {
    try {
      if (closed) throw new StoreUnavailableError('memory store is closed', { reason: 'closed' })
      return Promise.resolve(fn())
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** One op, synchronously (throws instead of rejecting): `run` and `run.sync`. */
  const runNow = <I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I): O => {
    if (closed) throw new StoreUnavailableError('memory store is closed', { reason: 'closed' })
    assertSameSlot(keys)
    const nowMs = Math.floor(now())
    // At the op's own time: what the check finds expired, the op would too.
    if (!evict) assertRoom(keys, nowMs, op as AtomicOp<never, unknown>, input)
    if (op.native !== undefined) {
      // The hot path: no ARGV strings, no reply decoding.
      native.now = nowMs
      return op.native(native, keys, input, nowMs)
    }
    if (op.js === undefined) throw new Error(`op ${op.name} has no js body`)
    const argv = encodeArgs(op, input)
    const data = createMemoryData(db, new Set(keys), nowMs)
    return op.decode(toRedisReply(op.js(data, keys, argv, nowMs)))
  }
  /** The last frozen parts array `runTagged` validated. */
  let checkedParts: readonly string[] | undefined
  /** `run.syncTagged`: one op on `store.key(tag, part)` for each part, through the tag index. */
  const runTagged = <I, O>(
    op: AtomicOp<I, O>,
    tag: string,
    parts: readonly string[],
    input: I
  ): O => {
    if (op.native === undefined || typeof tag !== 'string' || tag.length === 0 || !evict) {
      // Built keys: the same validation and errors as `run` (and its room check).
      return runNow(
        op,
        parts.map((part) => formatKey(prefix, tag, [part])),
        input
      )
    }
    if (closed) throw new StoreUnavailableError('memory store is closed', { reason: 'closed' })
    // A caller passes the same frozen parts array on every run (a limiter's key parts): it is
    // checked once, not per run.
    if (parts !== checkedParts) {
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]
        if (typeof part !== 'string' || part.length === 0) {
          throw new InvalidOptionsError(`parts[${i}]`, 'must be a non-empty string')
        }
      }
      if (Object.isFrozen(parts)) checkedParts = parts
    }
    const nowMs = Math.floor(now())
    tagged.now = nowMs
    // The tag index holds what `formatKey` would put in the key (a long tag as its digest).
    tagged.tag = storedTag(tag)
    return op.native(tagged, parts, input, nowMs)
  }
  const run: MemoryStore['run'] = Object.assign(
    <I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I): Promise<O> => {
      try {
        return Promise.resolve(runNow(op, keys, input))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    { sync: runNow, syncTagged: runTagged }
  )

  return {
    kind: 'memory',
    local: true,
    now: () => Math.floor(now()),
    get(key) {
      return attempt(() => {
        const entry = db.read(key, now())
        if (!entry) return undefined
        if (entry.type !== 'string') {
          throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value')
        }
        return entry.value
      })
    },
    set(key, value, setOptions?: StoreSetOptions) {
      return attempt(() => {
        const expiresAt =
          setOptions?.ttlMs === undefined ? undefined : now() + ttl(setOptions.ttlMs)
        if (!evict) assertRoom([key], now())
        db.write(key, { type: 'string', value: String(value), expiresAt })
      })
    },
    delete(key) {
      return attempt(() => db.remove(key, now()))
    },
    run,
    key(tag, ...parts) {
      return formatKey(prefix, tag, parts)
    },
    on(event, listener) {
      return listeners.on(event, listener)
    },
    close() {
      closed = true
      db.clear()
      listeners.clear()
      return Promise.resolve()
    },
    stats() {
      return db.stats()
    },
  }
}
