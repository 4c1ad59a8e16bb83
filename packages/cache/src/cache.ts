/**
 * @module cache
 * `createCache`: a memory tier (lru-cache, bounded by entries and bytes, values kept by reference)
 * over an optional shared store tier, with single-flight fills inside one process (a shared promise)
 * and across processes (a lock op in the store, woken by the bus or by polling).
 */
import { InvalidOptionsError, type StoreEventInfo } from '@aikit/core'
import { MAX_TAG_LENGTH, rejectUnknownOptions } from '@aikit/core/adapter'
import { LRUCache } from 'lru-cache'
import { type Bus, type BusMessage, connectBus } from './bus.js'
import { gunzipText, gzipText } from './compression.js'
import { encodeEnvelope, header, readHeader } from './envelope.js'
import { CacheSerializeError, CacheTimeoutError } from './errors.js'
import { KeyChanges } from './key-changes.js'
import {
  extendLockOp,
  fillOp,
  putOp,
  type ReadOrLock,
  readOrLockOp,
  tagTimeOp,
  unlockOp,
} from './ops.js'
import {
  type CacheOptions,
  duration,
  type ResolvedCacheOptions,
  resolveCacheOptions,
  TIMEOUT_OPTION_KEYS,
} from './options.js'
import type {
  Cache,
  CacheErrorInfo,
  CacheEvent,
  CacheSetOptions,
  CacheStats,
  FetchContext,
  GetOrSetOptions,
} from './types.js'
import { utf8Length } from './utf8.js'

/**
 * Package-internal (not exported by the entry point): a cache made by `createCache` answers this
 * method with its default `ttl` and its clock, so `cacheResponse` can cap a route's freshness
 * lifetime by the cache's own ttl and stamp entries with the clock the cache expires them by.
 */
export const CACHE_INTERNALS: unique symbol = Symbol('@aikit/cache.internals')

/** What `CACHE_INTERNALS` returns. */
export interface CacheInternals {
  /** The cache-wide fresh lifetime, ms. */
  readonly ttl: number
  /** The cache's clock, epoch ms. */
  readonly now: () => number
  /**
   * Declares the longest fresh ttl its user passes per call (`cacheResponse`'s `ttl`), so every
   * instance keeps a tag's invalidation time in the store for as long as such entries may live,
   * before writing any (see `Engine.tagTimeTtl`).
   */
  readonly declareTtl: (ttl: number) => void
}

/** One memory-tier entry. The value is the caller's object itself: never copied, never serialized. */
interface MemoryEntry {
  readonly value: unknown
  /**
   * When the data was read, whole epoch ms: when its fetch started (a fill), or when it was `set`.
   * A change (invalidation, delete, set) at or after this time makes the entry out of date.
   */
  readonly createdAt: number
  readonly freshUntil: number
  readonly staleUntil: number
  readonly tags: readonly string[]
  /** The serialized size of the value (UTF-8 bytes): the memory tier's byte bound counts it. */
  size: number
}

/** What a tag time may be checked against: an entry's creation time and tags. */
interface TagUser {
  readonly createdAt: number
  readonly tags: readonly string[]
}

/** The `Engine.track` of an entry without tags: nothing to release. */
const untracked = (): void => undefined
/** The `renewLock` of a fill that holds no lock (or never renews it): nothing to stop. */
const notRenewing = (): void => undefined

/** One load of a key running in this process: what `getOrSet` calls for the key join. */
interface Flight {
  promise: Promise<unknown>
  /**
   * Its fetcher runs (a `refresh` call may join it). False while it only reads the store tier or
   * waits for another instance's fill, and for a held stale value: a refresh starts its own load.
   */
  fetching: boolean
  /** When it started (whole epoch ms): a later change to its key, or its tags, drops it. */
  readonly startedAt: number
  /** The tags its entry will carry. */
  readonly tags: readonly string[]
}

/** A change whose store write failed (`Engine.keepUnsaved`): written again, then announced again. */
interface Unsaved {
  readonly write: () => Promise<unknown>
  readonly message: BusMessage
}

/** Per-call policy after defaults. */
interface CallPolicy {
  ttl: number
  swr: number
  sie: number
  soft: number
  hard: number
  tags: readonly string[]
  refresh: boolean
  noStore: boolean
}

const ENTRY_OVERHEAD_BYTES = 64
const TAG_RECHECK_MS = 1000
/** How far ahead of this clock another instance's invalidation time is still followed. */
const MAX_CLOCK_LEAD_MS = 1000
/** The tag maps are not pruned below this size (a prune is a scan of both). */
const TAG_PRUNE_MIN = 1024
/**
 * Forces `readOrLockOp` to take the lock even when the stored value is fresh (refresh, invalidated):
 * a time no entry's `freshUntil` reaches (a `ttl` of `Number.MAX_SAFE_INTEGER`, "forever", writes
 * one above `Number.MAX_SAFE_INTEGER`). Sent as `1e+300`, which Lua's `tonumber` reads too.
 */
const NEVER_FRESH = 1e300
const NO_TAGS: readonly string[] = Object.freeze([])
/** The lock token of a fill that holds no lock: no lock is ever taken with it (tokens are `id:n`). */
const NO_LOCK = ''
/** How many recently changed keys (set or deleted, here or elsewhere) each instance remembers. */
const KEY_CHANGES_MAX = 10_000
/** How often the changes whose store write failed are written again while the store is down. */
const UNSAVED_RETRY_MS = 1000
/** Past this (about 30,000 years: a "forever" ttl) a tag's time is kept without an expiry. */
const MAX_TAG_TIME_TTL_MS = 1e15
const SET_OPTION_KEYS = [
  'ttl',
  'staleWhileRevalidate',
  'staleIfError',
  'tags',
] as const satisfies readonly (keyof CacheSetOptions)[]
const GET_OR_SET_OPTION_KEYS = [
  ...SET_OPTION_KEYS,
  'timeouts',
  'refresh',
  'noStore',
] as const satisfies readonly (keyof GetOrSetOptions)[]

/** State shared by a cache and all its namespaces. */
class Engine {
  readonly lru: LRUCache<string, MemoryEntry>
  readonly inflight = new Map<string, Flight>()
  /**
   * The in-flight entries that only hold a stale value while a fetch goes on in the background
   * (see `holdInflight`): dropped when the key is deleted, invalidated or changed elsewhere.
   */
  readonly held = new Map<string, Flight>()
  /**
   * Recent changes of keys: entries created before one are not remembered after it. A cache with
   * neither a store nor a bus keeps only the changes of keys being fetched (see `KeyChanges`).
   */
  readonly changes: KeyChanges
  readonly waiters = new Map<string, Set<() => void>>()
  /**
   * Tag → its latest invalidation time. Only tags actually invalidated are here, so while nothing
   * was invalidated the map stays empty and a hit's tag check is one size test.
   */
  readonly tagTimes = new Map<string, number>()
  /** Tag → when the store was last asked for its time (no bus: re-ask after 1 s). */
  readonly tagChecked = new Map<string, number>()
  readonly counters: CacheStats = {
    hits: 0,
    storeHits: 0,
    misses: 0,
    stale: 0,
    coalesced: 0,
    fetches: 0,
    timeouts: 0,
    storeErrors: 0,
    busErrors: 0,
  }
  readonly errorListeners = new Set<(info: CacheErrorInfo) => void>()
  readonly id = `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`
  /**
   * How long a fill may hold its key's lock, renewals included (`lockTtl`, `lockMaxHold`): a
   * delete's tombstone lives this long, so a fill that read before the delete finds it when it ends.
   */
  readonly fillHoldMs: number
  readonly bus: Bus | undefined
  lastInvalidation = 0
  /**
   * The latest stamp `createdNow` issued (whole epoch ms). It may run a little ahead of the clock
   * (a stamp is one past the key's last change in the same millisecond): an invalidation is stamped
   * no earlier, so it catches every entry created before it here (`invalidationTime`).
   */
  private highWater = 0
  /**
   * The longest lifetime (`staleUntil - createdAt`) of an entry put in the memory tier: how long
   * the store keeps a tag's time (`tagTimeTtl`). Not the memory prune's bound (`pruneTags`): it
   * only ever grows, and one "forever" entry would then keep every tag time for good.
   */
  private maxLifetime = 0
  /**
   * What is checked against tag times without being in the memory tier yet: the entry a running
   * fetch or a `set` is writing, the stale value a load may still serve or hold (see `track`).
   */
  private readonly tracked = new Set<TagUser>()
  /** How many times the tag maps were pruned: a store read that a prune overlapped checks again. */
  prunes = 0
  /** The longest per-call fresh ttl a user of the cache declared (`CacheInternals.declareTtl`). */
  private declaredTtl = 0
  /** Tag-map size past which `markTag` drops the tag times no entry can need any more. */
  private pruneAt = TAG_PRUNE_MIN
  private tokenSeq = 0
  /**
   * Whether the clock can be read as it is: `false` until the store's first clock measurement
   * (`Store.clockReady`, a `redisStore`'s first `TIME`) has answered, while `o.now` is the store's
   * clock. Before it, a `redisStore`'s `now()` is this machine's clock: an entry stamped by a clock
   * an hour ahead would survive later invalidations, win over newer fills and be served an hour
   * past its ttl. So the calls that read the clock wait for that one measurement first (see
   * `clockReady`); the cache's Lua ops are not made to read `TIME` instead: the memory tier's
   * stamps and freshness checks need the clock without a round trip all the same.
   */
  private clockKnown: boolean
  private clockWait: Promise<void> | undefined
  /**
   * Changes whose store write failed (the store was down), by store key: a delete's tombstone, a
   * tag's invalidation time, the tombstone that replaces a `set`'s value. A Redis that keeps its
   * data through an outage (AOF, a network cut) would otherwise serve the old entry to every
   * instance once it is back, the one that made the change included once it forgets the change.
   * Written again (conditionally: never over a newer change) and announced again once the store
   * answers (`flushUnsaved`); bounded like `changes`.
   */
  private readonly unsaved = new Map<string, Unsaved>()
  private unsavedTimer: ReturnType<typeof setTimeout> | undefined
  private flushing = false
  private stopped = false

  /** `ownClock`: the cache was given a `now` option (then the store's clock is not read). */
  constructor(
    readonly o: ResolvedCacheOptions,
    ownClock = false
  ) {
    this.clockKnown = ownClock || typeof o.store?.clockReady !== 'function'
    this.fillHoldMs = Math.max(o.lockTtl, o.lockMaxHold)
    this.changes = new KeyChanges(
      o.store === undefined && o.bus === undefined ? 0 : KEY_CHANGES_MAX
    )
    // Measured from now, so that the first calls seldom wait (an invalidation made as a response's
    // head is written, `cacheResponse`, still reaches the store before the client has the answer).
    void this.clockReady()
    this.lru = new LRUCache<string, MemoryEntry>({
      max: o.maxEntries,
      maxSize: o.maxBytes,
      // The entry carries its size, so a fill passes no options object per `set`.
      sizeCalculation: (entry, key) => key.length + entry.size + ENTRY_OVERHEAD_BYTES,
    })
    this.bus =
      o.bus === undefined
        ? undefined
        : connectBus(
            o.bus,
            `${o.namespace}:bus`,
            // The store's key prefix (`<prefix>:{bus}`): instances of another app on the same
            // Redis, with their own prefix, are on the same default channel (see `BusMessage.s`).
            o.store?.key('bus'),
            this.id,
            (m) => this.onBus(m),
            (e) => this.fail('bus', e),
            () => this.resync()
          )
  }

  /**
   * `undefined` once the clock reads the store's time (at once without a store clock to wait for,
   * and once the store measured it: then no call waits again); until then, the wait for the
   * store's measurement (the first one starts when the cache is created). A store that could not
   * measure (`clockReady()` gave `false`: Redis unreachable) is asked again by the next call, which
   * then waits for the measurement the store sends as soon as Redis answers: an instance created
   * while Redis was down must not stamp on its own clock once Redis is back.
   */
  clockReady(): Promise<void> | undefined {
    if (this.clockKnown) return undefined
    if (this.clockWait === undefined) {
      const store = this.o.store as NonNullable<ResolvedCacheOptions['store']>
      // The contract is never to reject; a store that does anyway is asked again, as for `false`.
      const settled = (measured: unknown): void => {
        // `undefined`: a store of an older version, whose settled wait means a measurement.
        if (measured === false) this.clockWait = undefined
        else this.clockKnown = true
      }
      this.clockWait = Promise.resolve(store.clockReady?.()).then(settled, () => settled(false))
    }
    return this.clockWait
  }

  token(): string {
    this.tokenSeq += 1
    return `${this.id}:${this.tokenSeq}`
  }

  fail(source: CacheErrorInfo['source'], error: unknown): void {
    if (source === 'store') this.counters.storeErrors++
    else if (source === 'bus') this.counters.busErrors++
    for (const listener of this.errorListeners) {
      try {
        listener({ source, error })
      } catch {
        // Listeners are for logs and metrics; they never break a cache call.
      }
    }
  }

  /** Stops serving the held stale value of `key`, or of every key. */
  dropHeld(key?: string): void {
    if (key === undefined) {
      for (const k of [...this.held.keys()]) this.dropHeld(k)
      return
    }
    const held = this.held.get(key)
    if (held === undefined) return
    this.held.delete(key)
    if (this.inflight.get(key) === held) this.inflight.delete(key)
  }

  /**
   * `key` changed at `at` (here or on another instance): entries created at or before `at` are out
   * of date, and `seen` (at least `at`) is the latest stamp known for the key (a `set` reports its
   * own entry's stamp `a` and changes at `a - 1`): the memory entry created at or before `seen` is
   * dropped, and the key's next entry is stamped after it. Later calls no longer join a load that
   * started before the change; its fill is then written nowhere (`write` checks `changes`), and no
   * read answered before the change is kept. With `elsewhere` (a bus message), every load of the
   * key running here is out of date whatever its stamp: the instances' clocks may disagree by a few
   * ms (at worst its fill is not cached), while the cut-off stays `at` so the other instance's new
   * entry, stamped by its own clock, is read as valid.
   */
  keyChanged(key: string, at: number, seen: number = at, elsewhere = false): void {
    this.changes.record(key, at, seen)
    if (elsewhere) this.changes.outdate(key)
    this.dropHeld(key)
    const flight = this.inflight.get(key)
    if (flight !== undefined && (elsewhere || flight.startedAt <= at)) this.inflight.delete(key)
    const entry = this.lru.peek(key)
    if (entry !== undefined && entry.createdAt <= seen) this.lru.delete(key)
  }

  /** Tags were invalidated at `at`: later calls no longer join a load of an entry carrying one. */
  tagsChanged(tags: readonly string[], at: number): void {
    if (this.inflight.size === 0) return
    for (const [key, flight] of this.inflight) {
      if (flight.startedAt <= at && flight.tags.some((t) => tags.includes(t))) {
        this.inflight.delete(key)
      }
    }
  }

  private onBus(message: BusMessage): void {
    // Another version's (or a forged) message without a usable time changes nothing.
    if (typeof message.a !== 'number' || !Number.isFinite(message.a)) return
    if (message.o === 't') {
      for (const tag of message.k) this.markTag(tag, message.a)
      this.tagsChanged(message.k, message.a)
      return
    }
    for (const key of message.k) {
      // A set reports the new entry's own `createdAt`: what was created before it is out of date
      // (the new entry itself, read from the store before or after this message, is not), and the
      // memory entry stamped the same (a set here in the same millisecond) is dropped: the store
      // holds one of the two. A late message never drops an entry created after the change it
      // reports.
      if (message.o === 's') {
        this.keyChanged(key, message.a - 1, message.a, true)
        this.wake(key)
      } else this.keyChanged(key, message.a, message.a, true)
    }
  }

  /**
   * The bus subscriber was disconnected and is back: messages published meanwhile are lost, so
   * memory copies (and held stale values) may be out of date, and tag times may be behind. They
   * are dropped: the next calls read the store tier, and each tag's time from it again.
   */
  private resync(): void {
    this.dropHeld()
    this.lru.clear()
    this.tagChecked.clear()
    // Redis answers again: what this instance changed meanwhile is written now.
    void this.flushUnsaved()
  }

  /** Keeps a change whose store write failed, to write it again once the store answers. */
  keepUnsaved(key: string, write: () => Promise<unknown>, message: BusMessage): void {
    if (this.stopped) return
    this.unsaved.delete(key)
    this.unsaved.set(key, { write, message })
    if (this.unsaved.size > KEY_CHANGES_MAX) {
      for (const oldest of this.unsaved.keys()) {
        this.unsaved.delete(oldest)
        break
      }
    }
    this.retryUnsaved()
  }

  private retryUnsaved(): void {
    if (this.unsavedTimer !== undefined || this.stopped) return
    this.unsavedTimer = setTimeout(() => {
      this.unsavedTimer = undefined
      void this.flushUnsaved()
    }, UNSAVED_RETRY_MS)
    this.unsavedTimer.unref?.()
  }

  /**
   * Writes the unsaved changes, oldest first, each announced on the bus again once written: an
   * instance that read the old entry back between its resync and this write drops it. Stops at
   * the first failure (the store is still down: retried after `UNSAVED_RETRY_MS`, errors not
   * reported again).
   */
  private async flushUnsaved(): Promise<void> {
    if (this.flushing || this.unsaved.size === 0) return
    this.flushing = true
    try {
      for (const [key, change] of [...this.unsaved]) {
        if (this.stopped) return
        try {
          await change.write()
        } catch {
          break
        }
        if (this.unsaved.get(key) === change) this.unsaved.delete(key)
        this.bus?.publish(change.message)
      }
    } finally {
      this.flushing = false
      if (this.unsaved.size > 0) this.retryUnsaved()
    }
  }

  /** `close()`: unsaved changes are given up. */
  stop(): void {
    this.stopped = true
    clearTimeout(this.unsavedTimer)
    this.unsavedTimer = undefined
    this.unsaved.clear()
  }

  markTag(tag: string, at: number): void {
    // A held stale value carries tags this map does not index: an invalidation drops them all
    // (holds are rare and short).
    if (this.held.size > 0) this.dropHeld()
    if (at > (this.tagTimes.get(tag) ?? 0)) {
      this.tagTimes.set(tag, at)
      this.tagChecked.set(tag, this.o.now())
    }
    if (at > this.lastInvalidation) this.lastInvalidation = at
    if (this.tagTimes.size > this.pruneAt || this.tagChecked.size > this.pruneAt) this.pruneTags()
  }

  /**
   * Keeps the tag times of `user` (an entry not in the memory tier yet, created at `createdAt`
   * or later, carrying `tags`) until the returned function is called: the prune keeps them.
   */
  track(createdAt: number, tags: readonly string[]): () => void {
    if (tags.length === 0) return untracked
    const user: TagUser = { createdAt, tags }
    this.tracked.add(user)
    return () => {
      this.tracked.delete(user)
    }
  }

  /**
   * Drops the tag times nothing can be checked against any more. An invalidation only matters to
   * entries carrying the tag and created at or before it: a time is kept while a memory entry that
   * can still be served (before its `staleUntil`), or an entry being written or a stale value a
   * load holds (`track`), is one of those. The bound is per tag and read from what is there now,
   * never from the longest lifetime ever seen: a single "forever" entry (even deleted since) would
   * otherwise keep every per-entity tag (`user:<id>`) ever invalidated for the process's life.
   * Also kept: a time set or read from the store within the last `TAG_RECHECK_MS` (a store read
   * may be between its tag check and its `remember`), and one whose store write failed (the store
   * does not have it yet). An entry read from the store re-reads a dropped tag's time from the
   * store (`syncTags`); one whose tag read a prune overlapped is checked again (`checkValid`).
   * Amortised: a scan of the memory tier and the tag maps, and the next prune waits until the
   * maps have doubled.
   */
  private pruneTags(): void {
    this.prunes++
    const now = this.o.now()
    const needed = new Set<string>()
    const need = (user: TagUser): void => {
      for (let i = 0; i < user.tags.length; i++) {
        const tag = user.tags[i] as string
        const at = this.tagTimes.get(tag)
        if (at !== undefined && at >= user.createdAt) needed.add(tag)
      }
    }
    for (const entry of this.lru.values()) if (entry.staleUntil > now) need(entry)
    for (const user of this.tracked) need(user)
    const recent = now - TAG_RECHECK_MS
    const unsaved = this.unsaved.size > 0 && this.o.store !== undefined
    for (const tag of this.tagTimes.keys()) {
      if (needed.has(tag) || (this.tagChecked.get(tag) ?? 0) > recent) continue
      if (unsaved && this.unsaved.has(this.tagKey(tag))) continue
      this.tagTimes.delete(tag)
      this.tagChecked.delete(tag)
    }
    for (const [tag, checked] of this.tagChecked) {
      if (checked <= recent && !this.tagTimes.has(tag)) this.tagChecked.delete(tag)
    }
    this.pruneAt = Math.max(TAG_PRUNE_MIN, 2 * Math.max(this.tagTimes.size, this.tagChecked.size))
  }

  wake(key: string): void {
    const set = this.waiters.get(key)
    if (set === undefined) return
    this.waiters.delete(key)
    for (const resolve of set) resolve()
  }

  /**
   * A creation time for an entry of `key` (whole epoch ms: the lock script reads digits only),
   * strictly after any invalidation this instance knows of, after the key's last known change, its
   * running fetches' stamps and its memory entry (one stamped in the same millisecond, or a little
   * ahead by another instance's clock). A time stamped far ahead (a broken clock) is not followed:
   * that would stretch every later entry's TTL by the skew; entries it invalidates then stay
   * invalid until its time, which serves nothing stale.
   */
  createdNow(key: string): number {
    const now = Math.floor(this.o.now())
    let after = this.lastInvalidation
    const changed = this.changes.latest(key)
    if (changed > after) after = changed
    const entry = this.lru.peek(key)
    if (entry !== undefined && entry.createdAt > after) after = entry.createdAt
    const stamp = now > after || after - now > MAX_CLOCK_LEAD_MS ? now : after + 1
    if (stamp > this.highWater) this.highWater = stamp
    return stamp
  }

  /**
   * The time of an invalidation made now (whole epoch ms): the clock, or the latest stamp issued
   * here if that is ahead (entries created in this millisecond may be stamped a little ahead), so
   * every entry created here before the invalidation is at or before it. Never more than
   * `MAX_CLOCK_LEAD_MS` ahead of the clock (`createdNow` follows no time further ahead): other
   * instances compare it with stamps from their own clocks.
   */
  invalidationTime(): number {
    const now = Math.floor(this.o.now())
    const high = this.highWater
    return high > now && high - now <= MAX_CLOCK_LEAD_MS ? high : now
  }

  /** Whether no tag of the entry was invalidated after it was written (memory state only). */
  tagsValid(createdAt: number, tags: readonly string[]): boolean {
    // Nothing invalidated yet (the common case): no map lookups on the hot path.
    if (this.tagTimes.size === 0) return true
    for (let i = 0; i < tags.length; i++) {
      const at = this.tagTimes.get(tags[i] as string)
      if (at !== undefined && at >= createdAt) return false
    }
    return true
  }

  tagKey(tag: string): string {
    return (this.o.store as NonNullable<ResolvedCacheOptions['store']>).key(
      `t:${tag}`,
      'cache',
      'tag'
    )
  }

  /** Refreshes tag times from the store for tags never seen (or not re-checked for 1 s without a bus). */
  syncTags(tags: readonly string[], now: number): Promise<void> | undefined {
    const store = this.o.store
    if (store === undefined) return undefined
    let stale = false
    for (let i = 0; i < tags.length; i++) {
      const checked = this.tagChecked.get(tags[i] as string)
      if (checked === undefined || (this.bus === undefined && now - checked >= TAG_RECHECK_MS)) {
        stale = true
        break
      }
    }
    // The common case (every tag known) costs no promise.
    if (!stale) return undefined
    // Pruned before the fetch, not between it and the check of the entry that needed it (which is
    // not in the memory tier yet): what is dropped here is fetched again if needed.
    if (this.tagChecked.size > this.pruneAt) this.pruneTags()
    return this.fetchTags(store, tags, now)
  }

  private async fetchTags(
    store: NonNullable<ResolvedCacheOptions['store']>,
    tags: readonly string[],
    now: number
  ): Promise<void> {
    await Promise.all(
      tags.map(async (tag) => {
        const checked = this.tagChecked.get(tag)
        if (checked !== undefined && (this.bus !== undefined || now - checked < TAG_RECHECK_MS))
          return
        const text = await store.get(this.tagKey(tag))
        const at = text === undefined ? 0 : Number(text)
        if (at > (this.tagTimes.get(tag) ?? 0)) this.tagTimes.set(tag, at)
        this.tagChecked.set(tag, now)
        if (at > this.lastInvalidation) this.lastInvalidation = at
      })
    )
  }

  async encode(value: unknown, meta: MemoryEntry): Promise<{ text: string; size: number }> {
    // A fetcher may answer `undefined` ("no such user"): cached and shared like any other value.
    if (value === undefined) return { text: encodeEnvelope(meta, 'u', ''), size: 0 }
    let payload: unknown
    try {
      payload = this.o.serializer.serialize(value)
    } catch (error) {
      throw new CacheSerializeError(error)
    }
    if (typeof payload !== 'string')
      throw new CacheSerializeError(new TypeError('serializer.serialize must return a string'))
    const gz = payload.length >= this.o.compressionThreshold
    const body = gz ? await gzipText(payload) : payload
    return { text: encodeEnvelope(meta, gz ? 'gz' : 'json', body), size: utf8Length(payload) }
  }

  /**
   * Decodes a stored string into a memory entry; `undefined` when unreadable (a miss, never a crash).
   * Synchronous unless the payload is compressed: this runs on every store-tier hit, so the entry
   * is built straight from the header fields (one object per hit).
   */
  decode(text: string): MemoryEntry | undefined | Promise<MemoryEntry | undefined> {
    if (!readHeader(text)) return undefined
    const { freshUntil, staleUntil, createdAt, tags, payloadAt } = header
    if (header.encoding === 'u') {
      return { value: undefined, createdAt, freshUntil, staleUntil, tags: tags ?? NO_TAGS, size: 0 }
    }
    if (header.encoding === 'gz') {
      return gunzipText(text.slice(payloadAt)).then(
        (payload) => this.entryOf(payload, createdAt, freshUntil, staleUntil, tags),
        () => undefined
      )
    }
    return this.entryOf(text.slice(payloadAt), createdAt, freshUntil, staleUntil, tags)
  }

  private entryOf(
    payload: string,
    createdAt: number,
    freshUntil: number,
    staleUntil: number,
    tags: readonly string[] | undefined
  ): MemoryEntry | undefined {
    let value: unknown
    try {
      value = this.o.serializer.deserialize(payload)
    } catch {
      return undefined
    }
    return {
      value,
      createdAt,
      freshUntil,
      staleUntil,
      tags: tags ?? NO_TAGS,
      size: utf8Length(payload),
    }
  }

  /**
   * Puts an entry in the memory tier (its byte size is `entry.size`), unless it is out of date: the
   * key changed at or after its creation, or the memory tier holds a newer entry (a fill that
   * started earlier but ended later). `false` when it was not kept.
   */
  declareTtl(ttl: number): void {
    if (ttl > this.declaredTtl) this.declaredTtl = ttl
  }

  /**
   * How long the store keeps a tag's invalidation time (ms), or `undefined` for good: as long as an
   * entry created before it may live (the invalidation only matters to those). Once it expires, an
   * entry of the tag created before it would be valid again, so the bound is the longest lifetime
   * this instance knows of: the cache-wide one (ttl with its jitter, the stale windows), the
   * longest per-call ttl declared (`cacheResponse`'s), the longest entry it wrote; plus the clock
   * lead another instance's times are followed by. Without an expiry, each per-entity tag (a
   * `cacheResponse` path tag per POSTed URL, a `user:<id>`) would stay in Redis for good.
   * An app that writes, on one instance only, entries living longer than all of these (a per-call
   * `ttl` above the cache-wide one) should invalidate their tags from that instance, or give the
   * cache that `ttl`.
   */
  tagTimeTtl(): number | undefined {
    const o = this.o
    const ttl = Math.max(o.ttl, this.declaredTtl)
    const configured =
      Math.ceil(ttl * (1 + o.jitter)) + Math.max(o.staleWhileRevalidate, o.staleIfError)
    const lifetime = Math.max(configured, this.maxLifetime) + MAX_CLOCK_LEAD_MS
    return lifetime <= MAX_TAG_TIME_TTL_MS ? lifetime : undefined
  }

  remember(key: string, entry: MemoryEntry): boolean {
    if (entry.createdAt <= this.changes.last(key)) return false
    const current = this.lru.peek(key)
    if (current !== undefined && current !== entry && current.createdAt > entry.createdAt) {
      return false
    }
    const lifetime = entry.staleUntil - entry.createdAt
    if (lifetime > this.maxLifetime) this.maxLifetime = lifetime
    this.lru.set(key, entry)
    return true
  }
}

/** The stored form of a delete made at `at`: a miss for every reader, newer than the fills before it. */
function tombstone(at: number): string {
  return encodeEnvelope({ createdAt: at, freshUntil: 0, staleUntil: 0, tags: undefined }, 'u', '')
}

/**
 * Creates a cache. With a `store`, entries are shared between instances and `getOrSet` fills each
 * key once across all of them; without one, the cache is per-process.
 * @throws InvalidOptionsError naming the bad field.
 */
export function createCache(options: CacheOptions = {}): Cache {
  const resolved = resolveCacheOptions(options)
  const engine = new Engine(resolved, options.now !== undefined)
  const unsubscribers = new Set<() => void>()
  // Escaped as a child's name is: a root namespace `tenant:acme` must not address the entries of
  // `namespace('acme')` of the root namespace `tenant` (nor their `clear()` tag).
  return new CacheImpl(engine, namespaceSegment(resolved.namespace), unsubscribers)
}

/**
 * One level of a namespace path: `:` joins the levels, so a name's own `:` (and `%`, the escape) is
 * percent-encoded. A name without them (the common case) is itself: its keys stay the same.
 */
function namespaceSegment(name: string): string {
  return name.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))
}

class CacheImpl implements Cache {
  /**
   * Prefix of store names: `<root namespace>:` (its `:` and `%` escaped). The store name of an
   * entry is this prefix and its memory-tier key, so it is as unambiguous as that key: a child
   * namespace's entries cannot share a store key with a root key of the same text (`users:x`
   * against `x` in namespace `users`).
   */
  private readonly prefix: string
  /**
   * Prefix of memory-tier keys: none for the root namespace, so a hit looks up the caller's own key
   * string (whose hash V8 has cached) instead of building a new string per call (~100 ns, measured
   * in bench/cache). Children use `\0<namespace>\0`; a root key starting with `\0` gets one more
   * `\0`, so the two spaces never collide (namespace names cannot contain `\0`).
   */
  private readonly memPrefix: string
  /** Implicit tags of every entry written here: one per namespace level, so `clear()` is one tag write. */
  private readonly nsTags: readonly string[]
  /**
   * The value key of `name` is `${keyHead}${name}${keyTail}` when `name` has no `%`, `{` or `}`
   * and is no longer than `MAX_TAG_LENGTH` (the `Store.key` contract: `${prefix}:{${tag}}:cache`,
   * those three escaped, a longer tag as its digest), so a store-tier
   * read builds one string instead of calling `store.key` (a rest array, a join, an escape scan).
   * `undefined` when the store's keys do not have that form: then `store.key` is always used.
   */
  private readonly keyHead: string | undefined
  private readonly keyTail: string = ''

  constructor(
    private readonly engine: Engine,
    readonly namespaceName: string,
    /** The store subscriptions of `on()` not yet undone, shared by every namespace of the cache. */
    private readonly unsubscribers: Set<() => void>,
    parentTags: readonly string[] = []
  ) {
    this.prefix = `${namespaceSegment(engine.o.namespace)}:`
    this.memPrefix = parentTags.length === 0 ? '' : `\u0000${namespaceName}\u0000`
    this.nsTags = [...parentTags, `\u0000ns:${namespaceName}`]
    const store = engine.o.store
    const probe = store?.key(`${this.prefix}${this.memPrefix}\u0001`, 'cache')
    const at = probe === undefined ? -1 : probe.lastIndexOf('\u0001')
    if (probe !== undefined && at !== -1) {
      const head = probe.slice(0, at)
      const tail = probe.slice(at + 1)
      // Trust the split only if the store builds a second key the same way.
      if (
        store?.key(`${this.prefix}${this.memPrefix}a\u0002b`, 'cache') === `${head}a\u0002b${tail}`
      ) {
        this.keyHead = head
        this.keyTail = tail
      }
    }
  }

  /** The memory-tier key of `key` (also used for in-flight maps and bus messages). */
  private memKey(key: string): string {
    if (this.memPrefix !== '') return this.memPrefix + key
    return key.charCodeAt(0) === 0 ? `\u0000${key}` : key
  }

  /** The store-tier name of a memory key: `<root namespace>:<memory key>`. */
  private storeName(full: string): string {
    return this.prefix + full
  }

  /** The store key of an entry's value (what `store.key(storeName(full), 'cache')` returns). */
  private storeKey(full: string): string {
    // What follows the namespace's part of the name (`keyHead` holds that part, escaped).
    const raw = this.memPrefix === '' ? full : full.slice(this.memPrefix.length)
    if (
      this.keyHead !== undefined &&
      // A longer name is stored under its digest (`store.key`, see `MAX_TAG_LENGTH`).
      this.prefix.length + full.length <= MAX_TAG_LENGTH &&
      raw.indexOf('%') === -1 &&
      raw.indexOf('{') === -1 &&
      raw.indexOf('}') === -1 &&
      // A lone surrogate is escaped by `store.key` (UTF-8 would turn it into U+FFFD).
      (raw as unknown as { isWellFormed(): boolean }).isWellFormed()
    ) {
      return this.keyHead + raw + this.keyTail
    }
    const store = this.engine.o.store as NonNullable<ResolvedCacheOptions['store']>
    return store.key(this.prefix + full, 'cache')
  }

  private storeKeys(full: string): [string, string] {
    const store = this.engine.o.store as NonNullable<ResolvedCacheOptions['store']>
    const name = this.storeName(full)
    return [store.key(name, 'cache'), store.key(name, 'cache', 'lock')]
  }

  /** `known`: the option names the call takes (a misspelt one would silently change what is served). */
  private policy(
    options: GetOrSetOptions | undefined,
    known: readonly string[] = GET_OR_SET_OPTION_KEYS
  ): CallPolicy {
    const o = this.engine.o
    if (options === undefined) {
      return {
        ttl: o.ttl,
        swr: o.staleWhileRevalidate,
        sie: o.staleIfError,
        soft: o.soft,
        hard: o.hard,
        tags: this.nsTags,
        refresh: false,
        noStore: false,
      }
    }
    if (options === null || typeof options !== 'object')
      throw new InvalidOptionsError('options', 'must be an object')
    rejectUnknownOptions(options, known)
    const tags = options.tags ?? []
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new InvalidOptionsError('tags', 'must be an array of non-empty strings')
    }
    const { timeouts, refresh, noStore } = options
    if (timeouts !== undefined && (timeouts === null || typeof timeouts !== 'object'))
      throw new InvalidOptionsError('timeouts', 'must be an object ({ soft, hard })')
    if (timeouts !== undefined) rejectUnknownOptions(timeouts, TIMEOUT_OPTION_KEYS, 'timeouts.')
    if (refresh !== undefined && typeof refresh !== 'boolean')
      throw new InvalidOptionsError('refresh', 'must be a boolean')
    if (noStore !== undefined && typeof noStore !== 'boolean')
      throw new InvalidOptionsError('noStore', 'must be a boolean')
    return {
      ttl: duration('ttl', options.ttl, o.ttl, { positive: true }),
      swr: duration('staleWhileRevalidate', options.staleWhileRevalidate, o.staleWhileRevalidate),
      sie: duration('staleIfError', options.staleIfError, o.staleIfError),
      soft: duration('timeouts.soft', options.timeouts?.soft, o.soft, {
        positive: true,
        infinite: true,
        timer: true,
      }),
      hard: duration('timeouts.hard', options.timeouts?.hard, o.hard, {
        positive: true,
        infinite: true,
        timer: true,
      }),
      tags: tags.length === 0 ? this.nsTags : [...this.nsTags, ...tags],
      refresh: options.refresh === true,
      noStore: options.noStore === true,
    }
  }

  private fullKey(key: string): string {
    if (typeof key !== 'string' || key.length === 0)
      throw new InvalidOptionsError('key', 'must be a non-empty string')
    return this.memKey(key)
  }

  /** The memory entry if it is fresh and not invalidated. */
  private freshLocal(full: string): MemoryEntry | undefined {
    const entry = this.engine.lru.get(full)
    if (entry === undefined) return undefined
    if (
      entry.freshUntil > this.engine.o.now() &&
      this.engine.tagsValid(entry.createdAt, entry.tags)
    )
      return entry
    return undefined
  }

  peek<T = unknown>(key: string): T | undefined {
    const entry = this.freshLocal(this.fullKey(key))
    if (entry === undefined) return undefined
    this.engine.counters.hits++
    return entry.value as T
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const full = this.fullKey(key)
    const e = this.engine
    const local = this.freshLocal(full)
    if (local !== undefined) {
      e.counters.hits++
      return local.value as T
    }
    const store = e.o.store
    if (store !== undefined) {
      try {
        // Until the clock's first measurement (sent when the cache was created) has answered, it is
        // awaited along with the GET, not before it.
        const clock = e.clockReady()
        // A plain GET, not a script: Redis serves it without Lua, and the store runs no extra
        // round trip for tags or namespaces (their times are held here, see `syncTags`).
        const text = await store.get(this.storeKey(full))
        if (clock !== undefined) await clock
        if (text !== undefined) {
          let now = e.o.now()
          let entry = this.validStored(full, text, now)
          if (entry instanceof Promise) {
            entry = await entry
            now = e.o.now()
          }
          if (entry !== undefined && entry.freshUntil > now) {
            e.counters.storeHits++
            e.remember(full, entry)
            return entry.value as T
          }
        }
      } catch (error) {
        e.fail('store', error)
      }
    }
    e.counters.misses++
    return undefined
  }

  /**
   * A stored entry of `full` that is still valid (no tag invalidated and no change of the key known
   * since it was created), else `undefined`. Sync in the common case.
   */
  private validStored(
    full: string,
    text: string,
    now: number
  ): MemoryEntry | undefined | Promise<MemoryEntry | undefined> {
    const decoded = this.engine.decode(text)
    if (decoded === undefined) return undefined
    if (decoded instanceof Promise)
      return decoded.then((entry) => this.checkValid(full, entry, now))
    return this.checkValid(full, decoded, now)
  }

  private checkValid(
    full: string,
    entry: MemoryEntry | undefined,
    now: number
  ): MemoryEntry | undefined | Promise<MemoryEntry | undefined> {
    if (entry === undefined) return undefined
    const e = this.engine
    const pending = entry.tags.length > 0 ? e.syncTags(entry.tags, now) : undefined
    if (pending === undefined) return this.isValid(full, entry)
    // A prune while the tag times were read may have dropped one this entry needs (a known tag's,
    // not read again): then they are read again (`syncTags` reads the dropped ones from the store).
    const prunes = e.prunes
    return pending.then(() =>
      e.prunes === prunes ? this.isValid(full, entry) : this.checkValid(full, entry, e.o.now())
    )
  }

  private isValid(full: string, entry: MemoryEntry): MemoryEntry | undefined {
    const e = this.engine
    // Read before a change this instance has heard of (the bus message may arrive before the reply).
    if (entry.createdAt <= e.changes.last(full)) return undefined
    return e.tagsValid(entry.createdAt, entry.tags) ? entry : undefined
  }

  async set(key: string, value: unknown, options?: CacheSetOptions): Promise<void> {
    const full = this.fullKey(key)
    const p = this.policy(options, SET_OPTION_KEYS)
    const e = this.engine
    const clock = e.clockReady()
    if (clock !== undefined) await clock
    // Stamped no earlier than now: the tag times its entry is checked against stay until it is in
    // the memory tier (an invalidation while its value is encoded).
    const untrack = e.track(Math.floor(e.o.now()), p.tags)
    try {
      await this.write(full, value, p, undefined, undefined, 0)
    } finally {
      untrack()
    }
  }

  /**
   * Writes both tiers (store errors absorbed) and announces the change on the bus. A fill passes its
   * `token` (the store lock, if it took it), `createdAt` (when its fetch started) and `generation`
   * (what `changes.begin` returned; unused by a `set`): a fill whose key changed since then is
   * written nowhere, and the store keeps a newer value (`fillOp`). A `set` stamps its entry now and
   * makes fills already running for the key out of date; the store keeps a newer change made
   * elsewhere over it (`putOp`), and then this instance drops its own copy too.
   * @throws CacheSerializeError when the serializer cannot encode `value` (then cached nowhere).
   */
  private async write(
    full: string,
    value: unknown,
    p: CallPolicy,
    token: string | undefined,
    createdAt: number | undefined,
    generation: number
  ): Promise<void> {
    const e = this.engine
    const stamp = createdAt ?? e.createdNow(full)
    // Fresh from now (the fetch's duration does not shorten it), whole ms like every stamp.
    const from = Math.max(stamp, Math.floor(e.o.now()))
    const jitter = e.o.jitter === 0 ? 1 : 1 + e.o.jitter * (Math.random() * 2 - 1)
    const freshUntil = from + Math.max(1, Math.round(p.ttl * jitter))
    const entry: MemoryEntry = {
      value,
      createdAt: stamp,
      freshUntil,
      staleUntil: freshUntil + Math.floor(Math.max(p.swr, p.sie)),
      tags: p.tags,
      size: 0,
    }
    const store = e.o.store
    const keys = store === undefined ? undefined : this.storeKeys(full)
    const unlock = async (): Promise<void> => {
      if (store === undefined || keys === undefined || token === undefined) return
      try {
        await store.run(unlockOp, keys, { token })
      } catch (error) {
        e.fail('store', error)
      }
    }
    let text: string
    try {
      const encoded = await e.encode(value, entry)
      text = encoded.text
      entry.size = encoded.size
    } catch (error) {
      // Not kept in memory either: its size cannot be measured, so `maxBytes` could not hold.
      await unlock()
      e.wake(full)
      throw error
    }
    if (createdAt === undefined) {
      // A set: what was created before it (a fill still running, a late store read) is out of date.
      e.keyChanged(full, stamp - 1, stamp)
    } else if (!e.changes.current(full, stamp, generation)) {
      // A fill that started before a change to its key (a delete, a set, here or elsewhere).
      await unlock()
      e.wake(full)
      return
    }
    e.remember(full, entry)
    if (store !== undefined && keys !== undefined) {
      const ttlMs = entry.staleUntil - e.o.now()
      try {
        if (ttlMs <= 0) {
          await unlock()
        } else {
          // Never a plain SET: the store keeps the later change of the key whichever write lands
          // last (`putOp`, `fillOp`). A fill that could not take the lock (the lock op failed, or
          // it waited past its deadline) goes through `fillOp` with a token nobody holds: it is
          // written only over an older value, never over a newer `set` or a delete's tombstone.
          const written =
            createdAt === undefined
              ? await store.run(putOp, [keys[0]], { value: text, ttlMs, createdAt: stamp })
              : await store.run(fillOp, keys, {
                  value: text,
                  ttlMs,
                  token: token ?? NO_LOCK,
                  createdAt: stamp,
                })
          if (!written) {
            // Another instance stored a newer value meanwhile: this one is out of date everywhere
            // (that instance announced its change).
            if (e.lru.peek(full) === entry) e.lru.delete(full)
            e.dropHeld(full)
            e.wake(full)
            return
          }
        }
      } catch (error) {
        e.fail('store', error)
        if (createdAt === undefined) {
          // The store may keep the value this set replaces (an outage of a Redis that keeps its
          // data): once it answers, a tombstone just older than this set makes that value a miss.
          const at = stamp - 1
          e.keepUnsaved(
            keys[0],
            () =>
              store.run(putOp, [keys[0]], {
                value: tombstone(at),
                ttlMs: e.fillHoldMs,
                createdAt: at,
              }),
            { i: e.id, o: 'd', k: [full], a: at }
          )
        }
      }
    }
    // A fill is announced so other instances read the store's newer value and their waiters
    // wake. Without a store there is nothing newer to read: each instance's own fill is as good,
    // and dropping it would make instances behind a load balancer evict each other on every
    // call (a fetch, an LLM call, each time). A `set` is a change, and so is a `refresh` (the
    // caller wants newer data than what is cached): always announced.
    if (createdAt === undefined || store !== undefined || p.refresh) {
      e.bus?.publish({ i: e.id, o: 's', k: [full], a: stamp })
    }
    e.dropHeld(full)
    e.wake(full)
  }

  async delete(key: string): Promise<void> {
    const full = this.fullKey(key)
    const e = this.engine
    const clock = e.clockReady()
    if (clock !== undefined) await clock
    // Every entry of the key created so far, and every load of it started so far, is out of date.
    const at = e.createdNow(full)
    e.lru.delete(full)
    e.keyChanged(full, at)
    const message: BusMessage = { i: e.id, o: 'd', k: [full], a: at }
    const store = e.o.store
    if (store !== undefined) {
      // Not a DEL: an entry that is never fresh nor stale, stamped with the delete's time. A fill
      // that read before the delete (on an instance whose bus message has not arrived yet, or
      // without a bus) then finds a newer entry and does not store what it read (`fillOp`), as
      // after a `set`. It lives as long as a fill may hold the lock (`fillHoldMs`). Stamped one
      // past `at`: a fill stamped in the delete's own millisecond is out of date too (`keyChanged`
      // above).
      // Written only over an entry created no later than `at` (`putOp`), not `at + 1`: a `set`
      // stamped `at + 1` on another instance is later than the delete, and that instance keeps it
      // in memory (the bus message drops entries up to `at`), so the store must keep it too,
      // whichever write lands last. The replay after an outage (`keepUnsaved`) compares the same.
      const storeKey = this.storeKey(full)
      const write = () =>
        store.run(putOp, [storeKey], {
          value: tombstone(at + 1),
          ttlMs: e.fillHoldMs,
          createdAt: at + 1,
          compareAt: at,
        })
      try {
        await write()
      } catch (error) {
        e.fail('store', error)
        e.keepUnsaved(storeKey, write, message)
      }
    }
    e.bus?.publish(message)
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new InvalidOptionsError('tags', 'must be an array of non-empty strings')
    }
    const e = this.engine
    const clock = e.clockReady()
    if (clock !== undefined) await clock
    const at = e.invalidationTime()
    for (const tag of tags) e.markTag(tag, at)
    e.tagsChanged(tags, at)
    const store = e.o.store
    if (store !== undefined) {
      try {
        // `tagTimeOp` (0: no expiry), not a plain SET: an earlier invalidation on another
        // instance whose write lands after this one must not undo it (keeps the later time).
        const ttlMs = e.tagTimeTtl() ?? 0
        let failed = false
        await Promise.all(
          tags.map((tag) => {
            const tagKey = e.tagKey(tag)
            const write = () => store.run(tagTimeOp, [tagKey], { at, ttlMs })
            return write().catch((error: unknown) => {
              if (!failed) e.fail('store', error)
              failed = true
              // Written again once the store answers, never over a later invalidation.
              e.keepUnsaved(tagKey, write, {
                i: e.id,
                o: 't',
                k: [tag],
                a: at,
              })
            })
          })
        )
      } catch (error) {
        e.fail('store', error)
      }
    }
    e.bus?.publish({ i: e.id, o: 't', k: tags, a: at })
  }

  [CACHE_INTERNALS](): CacheInternals {
    const e = this.engine
    return { ttl: e.o.ttl, now: e.o.now, declareTtl: (ttl) => e.declareTtl(ttl) }
  }

  namespace(name: string): Cache {
    if (typeof name !== 'string' || name.length === 0 || name.includes('\u0000'))
      throw new InvalidOptionsError('name', 'must be a non-empty string without NUL characters')
    // `namespace('a:b')` must not be `namespace('a').namespace('b')` (per-tenant namespaces with
    // ids holding `:` would read each other's entries).
    return new CacheImpl(
      this.engine,
      `${this.namespaceName}:${namespaceSegment(name)}`,
      this.unsubscribers,
      this.nsTags
    )
  }

  clear(): Promise<void> {
    return this.invalidateTags([this.nsTags[this.nsTags.length - 1] as string])
  }

  stats(): CacheStats {
    return { ...this.engine.counters }
  }

  on(event: CacheEvent, listener: (info: never) => void): () => void {
    if (typeof listener !== 'function')
      throw new InvalidOptionsError('listener', 'must be a function')
    // Each subscription registers its own closure: the sets below (and the store's) keep a
    // function once, so the same handler subscribed twice (two caches on one store, two
    // namespaces) would otherwise be one entry, and undoing either would undo both.
    if (event === 'error') {
      const fn = (info: CacheErrorInfo): void => (listener as (info: CacheErrorInfo) => void)(info)
      this.engine.errorListeners.add(fn)
      return () => this.engine.errorListeners.delete(fn)
    }
    if (event !== 'degraded' && event !== 'recovered') {
      throw new InvalidOptionsError('event', "must be 'error', 'degraded' or 'recovered'")
    }
    const store = this.engine.o.store
    if (store === undefined) return () => undefined
    const unsubscribe = store.on(event, (info: StoreEventInfo) =>
      (listener as (info: StoreEventInfo) => void)(info)
    )
    // Forgotten once undone: an app that subscribes and unsubscribes per request keeps nothing.
    const off = (): void => {
      this.unsubscribers.delete(off)
      unsubscribe()
    }
    this.unsubscribers.add(off)
    return off
  }

  async close(): Promise<void> {
    for (const off of [...this.unsubscribers]) off()
    this.engine.lru.clear()
    this.engine.changes.clear()
    this.engine.errorListeners.clear()
    this.engine.stop()
    await this.engine.bus?.close()
  }

  // ---------------------------------------------------------------------------------------------
  // getOrSet

  getOrSet<T>(
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    options?: GetOrSetOptions
  ): Promise<T> {
    // The hot path: a fresh memory hit costs one LRU lookup and no async function frame.
    if (typeof key !== 'string' || key.length === 0) {
      return Promise.reject(new InvalidOptionsError('key', 'must be a non-empty string'))
    }
    // Checked on a hit as on a miss, so a bad call cannot pass every test against a warm cache and
    // fail the first time its entry expires. Without options (the common hit) this is one typeof.
    if (typeof fetcher !== 'function')
      return Promise.reject(new InvalidOptionsError('fetcher', 'must be a function'))
    let p: CallPolicy | undefined
    if (options !== undefined) {
      try {
        p = this.policy(options)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const full = this.memPrefix === '' && key.charCodeAt(0) !== 0 ? key : this.memKey(key)
    if (p === undefined || !p.refresh) {
      const entry = this.freshLocal(full)
      if (entry !== undefined) {
        this.engine.counters.hits++
        return Promise.resolve(entry.value as T)
      }
    }
    return this.slowGetOrSet(full, key, fetcher, p ?? this.policy(undefined))
  }

  private slowGetOrSet<T>(
    full: string,
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    p: CallPolicy,
    clockWaited = false
  ): Promise<T> {
    const e = this.engine
    // Once per call: while Redis is unreachable the store cannot measure its clock, and each wait
    // ends at once (asking again would loop on microtasks and never let the store reconnect).
    const clock = clockWaited ? undefined : e.clockReady()
    if (clock !== undefined) {
      return clock.then(() => this.slowGetOrSet(full, key, fetcher, p, true))
    }
    const now = e.o.now()
    let stale: MemoryEntry | undefined
    if (!p.refresh) {
      const entry = e.lru.get(full)
      if (
        entry !== undefined &&
        e.tagsValid(entry.createdAt, entry.tags) &&
        now < entry.staleUntil
      ) {
        if (now < entry.freshUntil) {
          e.counters.hits++
          return Promise.resolve(entry.value as T)
        }
        if (now < entry.freshUntil + p.swr) {
          e.counters.stale++
          if (!e.inflight.has(full))
            this.startLoad(full, key, fetcher, p, undefined, true).catch(() => undefined)
          return Promise.resolve(entry.value as T)
        }
        stale = entry
      }
    }
    const running = e.inflight.get(full)
    // A refresh never answers from what is cached: it joins a running fetch only, not a load that
    // is reading the store tier (it would answer the stored value) nor a held stale value.
    if (running !== undefined && (!p.refresh || running.fetching)) {
      e.counters.coalesced++
      // The load may have started long before this call, or run under a longer hard timeout.
      return Number.isFinite(p.hard)
        ? this.joinWithin(running.promise as Promise<T>, p, stale)
        : (running.promise as Promise<T>)
    }
    return this.startLoad(full, key, fetcher, p, stale)
  }

  private startLoad<T>(
    full: string,
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    p: CallPolicy,
    stale: MemoryEntry | undefined,
    background = false
  ): Promise<T> {
    const e = this.engine
    const flight: Flight = {
      promise: Promise.resolve(),
      fetching: false,
      startedAt: Math.floor(e.o.now()),
      tags: p.tags,
    }
    // The stale value may be served or held once the store was read (see `fetch`).
    const untrack = stale === undefined ? untracked : e.track(stale.createdAt, stale.tags)
    const load = this.load(full, key, fetcher, p, stale, background, flight).finally(() => {
      untrack()
      if (e.inflight.get(full) === flight) e.inflight.delete(full)
    })
    flight.promise = load
    e.inflight.set(full, flight)
    return load
  }

  /**
   * Store tier read + cross-process lock, then the fetch. Runs once per key per process at a time.
   * A `background` load refreshes for a call already answered (and counted) as stale: it counts
   * no hit, miss or stale of its own.
   */
  private async load<T>(
    full: string,
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    p: CallPolicy,
    stale: MemoryEntry | undefined,
    background: boolean,
    flight: Flight
  ): Promise<T> {
    const e = this.engine
    // A background load answers no caller: its fetch is not a miss, its stale value not served.
    const miss = (from: MemoryEntry | undefined, token: string | undefined): Promise<T> => {
      // From here the load answers with what its fetcher returns: a refresh may join it.
      flight.fetching = true
      return background
        ? this.fetch(full, key, fetcher, p, from, token, flight)
        : this.miss(full, key, fetcher, p, from, token, flight)
    }
    const counters = background ? undefined : e.counters
    const store = e.o.store
    if (store === undefined) return miss(stale, undefined)
    const keys = this.storeKeys(full)
    const token = e.token()
    let nowMs = p.refresh ? NEVER_FRESH : e.o.now()
    // A filler renews its lock while its fetch runs, up to `lockMaxHold`: waited for that long (and
    // then some), a holder that stops renewing lets its lock lapse and a waiter takes it over.
    const deadline = e.o.now() + Math.max(3 * e.o.lockTtl, e.fillHoldMs + e.o.lockTtl)
    // The soft timeout is real elapsed time (as the fetch's own timer), not the entries' clock.
    const softAt = Number.isFinite(p.soft) ? performance.now() + p.soft : Number.POSITIVE_INFINITY
    // Nor does the call wait for another instance's fill longer than its hard timeout.
    const hardAt = Number.isFinite(p.hard) ? performance.now() + p.hard : Number.POSITIVE_INFINITY
    for (;;) {
      let r: ReadOrLock
      try {
        r = await store.run(readOrLockOp, keys, { token, lockMs: e.o.lockTtl, nowMs })
      } catch (error) {
        // Degraded: the store is down or slow. Serve from this process alone; never fail the call.
        e.fail('store', error)
        return miss(stale, undefined)
      }
      const storedText = r.value
      let stored: MemoryEntry | undefined
      try {
        const valid =
          storedText === undefined ? undefined : this.validStored(full, storedText, e.o.now())
        stored = valid instanceof Promise ? await valid : valid
      } catch (error) {
        // The tag check's GET failed (the store went down after the script answered): the stored
        // value cannot be trusted, so degrade as above, filling under the lock if this call took it.
        e.fail('store', error)
        return miss(stale, r.kind === 'locked' ? token : undefined)
      }
      const now = e.o.now()
      if (r.kind === 'fresh') {
        if (stored !== undefined) {
          if (counters) counters.storeHits++
          e.remember(full, stored)
          return stored.value as T
        }
        // Fresh in the store but invalidated by a tag: take the lock and refill.
        nowMs = NEVER_FRESH
        continue
      }
      const usable = stored !== undefined && now < stored.staleUntil ? stored : stale
      // A refresh (no-cache) never answers from what is stored, except as a stale-if-error fallback.
      const servable = !p.refresh && usable !== undefined && now < usable.freshUntil + p.swr
      if (r.kind === 'locked') {
        if (servable) {
          // Serve stale now; this process refreshes in the background while holding the lock.
          if (counters) counters.stale++
          e.remember(full, usable)
          this.fetch(full, key, fetcher, p, usable, token, flight).catch(() => undefined)
          return usable.value as T
        }
        return miss(usable, token)
      }
      // Another instance is filling.
      if (servable) {
        if (counters) counters.stale++
        return usable.value as T
      }
      // Waited `soft` for another instance's fill: answer with the stale value, as the filling
      // instance's own caller was answered.
      const softLeft = softAt - performance.now()
      if (usable !== undefined && softLeft <= 0) {
        if (counters) counters.stale++
        return usable.value as T
      }
      const hardLeft = hardAt - performance.now()
      if (hardLeft <= 0) return this.timedOut(p, usable, counters)
      if (e.o.now() > deadline) return miss(usable, undefined)
      let waitMs = Math.min(e.o.pollInterval, Math.max(1, r.lockMs), Math.ceil(hardLeft))
      if (usable !== undefined) waitMs = Math.min(waitMs, Math.max(1, Math.ceil(softLeft)))
      await this.waitForFill(full, waitMs)
      nowMs = e.o.now()
    }
  }

  /**
   * A call that waited its whole hard timeout for another fetch of its key (another instance's, or
   * one running in this process): the stale value if `staleIfError` allows it, as after a fetch
   * of its own that timed out; else `CacheTimeoutError`.
   */
  private timedOut<T>(
    p: CallPolicy,
    stale: MemoryEntry | undefined,
    counters: CacheStats | undefined
  ): T {
    const e = this.engine
    e.counters.timeouts++
    const now = e.o.now()
    if (stale !== undefined && now < stale.freshUntil + p.sie && now < stale.staleUntil) {
      if (counters) counters.stale++
      return stale.value as T
    }
    throw new CacheTimeoutError(p.hard)
  }

  /** `joined` (a load of this process the call joins), but no longer than the call's hard timeout. */
  private joinWithin<T>(joined: Promise<T>, p: CallPolicy, stale: MemoryEntry | undefined) {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        try {
          resolve(this.timedOut<T>(p, stale, this.engine.counters))
        } catch (error) {
          reject(error)
        }
      }, p.hard)
      joined.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        }
      )
    })
  }

  /** Resolves when the bus reports the key filled, or after `ms`. */
  private waitForFill(full: string, ms: number): Promise<void> {
    const e = this.engine
    return new Promise((resolve) => {
      let set = e.waiters.get(full)
      if (set === undefined) {
        set = new Set()
        e.waiters.set(full, set)
      }
      const done = (): void => {
        clearTimeout(timer)
        const waiting = e.waiters.get(full)
        // The last waiter of a key that no fill woke (no bus, or the fill failed) removes the
        // key's entry: one per key ever waited on would otherwise stay for good.
        if (waiting?.delete(done) && waiting.size === 0) {
          e.waiters.delete(full)
        }
        resolve()
      }
      const timer = setTimeout(done, ms)
      set.add(done)
    })
  }

  /** A foreground fetch: the call found nothing fresh in any tier (counted as a miss). */
  private miss<T>(
    full: string,
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    p: CallPolicy,
    stale: MemoryEntry | undefined,
    token: string | undefined,
    flight: Flight
  ): Promise<T> {
    this.engine.counters.misses++
    return this.fetch(full, key, fetcher, p, stale, token, flight)
  }

  /**
   * Runs the fetcher under the soft/hard timeouts, stores the result, falls back to stale on failure.
   * `flight` is the load it runs for: after the soft timeout, later calls join the stale value only
   * while that load is still the key's in-flight entry.
   */
  private fetch<T>(
    full: string,
    key: string,
    fetcher: (context: FetchContext) => T | Promise<T>,
    p: CallPolicy,
    stale: MemoryEntry | undefined,
    token: string | undefined,
    flight: Flight
  ): Promise<T> {
    const e = this.engine
    e.counters.fetches++
    const controller = new AbortController()
    let abandoned = false
    const release = (): void => {
      const store = e.o.store
      if (token === undefined || store === undefined) return
      store
        .run(unlockOp, this.storeKeys(full), { token })
        .catch((error: unknown) => e.fail('store', error))
    }
    // The entry is as old as the data: stamped before the fetcher reads it, so a change (delete,
    // set, tag invalidation) made while it runs makes its entry out of date. Changes to the key are
    // kept until the fetch has ended.
    const createdAt = e.createdNow(full)
    const generation = e.changes.begin(full, createdAt)
    // Until the fetch ends, the tag times its entry (and the stale value it may hold) is checked
    // against are kept: an invalidation while it runs makes its entry out of date.
    const untrack = e.track(createdAt, p.tags)
    const untrackStale = stale === undefined ? untracked : e.track(stale.createdAt, stale.tags)
    const stopRenewing = token === undefined ? notRenewing : this.renewLock(full, token)
    let running = true
    const ended = (): void => {
      if (!running) return
      running = false
      stopRenewing()
      e.changes.end(full)
      untrack()
      untrackStale()
    }
    const settled: Promise<T> = (async () => {
      try {
        let value: T
        try {
          value = await fetcher({ key, signal: controller.signal })
        } catch (error) {
          release()
          throw error
        }
        if (abandoned) return value
        if (p.noStore) release()
        else {
          try {
            await this.write(full, value, p, token, createdAt, generation)
          } catch (error) {
            // Unserializable: answered, not cached (`write` released the lock).
            e.fail('serializer', error)
          }
        }
        return value
      } finally {
        ended()
      }
    })()
    settled.catch(() => undefined)

    const staleFallback = (error: unknown): T => {
      if (
        stale !== undefined &&
        e.o.now() < stale.freshUntil + p.sie &&
        e.o.now() < stale.staleUntil
      ) {
        e.counters.stale++
        return stale.value as T
      }
      throw error
    }
    if (!Number.isFinite(p.soft) && !Number.isFinite(p.hard)) return settled.catch(staleFallback)

    return new Promise<T>((resolve, reject) => {
      let answered = false
      let softTimer: ReturnType<typeof setTimeout> | undefined
      let hardTimer: ReturnType<typeof setTimeout> | undefined
      /** Set once the soft timeout answered: drops what keeps this process's later calls joined. */
      let unhold: (() => void) | undefined
      const fallBack = (error: unknown): void => {
        try {
          resolve(staleFallback(error))
        } catch (err) {
          reject(err)
        }
      }
      settled.then(
        (value) => {
          clearTimeout(softTimer)
          clearTimeout(hardTimer)
          unhold?.()
          if (answered) return
          answered = true
          resolve(value)
        },
        (error: unknown) => {
          clearTimeout(softTimer)
          clearTimeout(hardTimer)
          unhold?.()
          if (answered) return
          answered = true
          fallBack(error)
        }
      )
      if (Number.isFinite(p.soft) && stale !== undefined) {
        softTimer = setTimeout(() => {
          // Soft timeout: answer with the stale value. The fetch keeps running (still bounded by
          // the hard timeout) and fills the cache; until it ends, this process's later calls for
          // the key join it and get the stale value too, instead of starting fetches of their own.
          answered = true
          e.counters.stale++
          // Only while this load is still what later calls join and nothing made its data (nor the
          // stale value, older still) out of date: after a delete, a set, an invalidation of one of
          // its tags or a newer load of the key, later calls must not get the stale value.
          if (
            e.inflight.get(full) === flight &&
            e.changes.current(full, createdAt, generation) &&
            e.tagsValid(createdAt, p.tags) &&
            e.tagsValid(stale.createdAt, stale.tags)
          ) {
            // Held no longer than the stale value may be served, nor than another instance would
            // wait for this fill (`lockTtl`): a fetch that never settles must not pin the key.
            const holdMs = Math.min(e.o.lockTtl, stale.staleUntil - e.o.now())
            unhold = this.holdInflight(full, stale.value, holdMs)
          }
          resolve(stale.value as T)
        }, p.soft)
      }
      if (Number.isFinite(p.hard)) {
        hardTimer = setTimeout(() => {
          clearTimeout(softTimer)
          abandoned = true
          ended()
          e.counters.timeouts++
          controller.abort(new CacheTimeoutError(p.hard))
          release()
          unhold?.()
          if (answered) return
          answered = true
          fallBack(new CacheTimeoutError(p.hard))
        }, p.hard)
      }
    })
  }

  /**
   * Keeps the store lock `token` of `full` held while its fetch runs: extends it by `lockTtl` every
   * `lockTtl / 3`, until the returned function is called, `lockMaxHold` after the start, or the
   * lock was lost (it lapsed during a stall and another instance took it: that one fills now).
   * A failed extension is tried again at the next turn; if the lock lapses meanwhile, another
   * instance fetches too, as it would have without renewal.
   */
  private renewLock(full: string, token: string): () => void {
    const e = this.engine
    const store = e.o.store
    const { lockTtl, lockMaxHold } = e.o
    if (store === undefined || lockMaxHold <= lockTtl) return notRenewing
    const keys = this.storeKeys(full)
    // Real elapsed time, as the timers that pace it (the entries' clock may be a test's).
    const until = performance.now() + lockMaxHold
    const every = Math.max(1, Math.floor(lockTtl / 3))
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    const schedule = (): void => {
      if (stopped) return
      timer = setTimeout(extend, every)
      timer.unref?.()
    }
    const extend = (): void => {
      timer = undefined
      const left = until - performance.now()
      if (stopped || left < 1) return
      const lockMs = Math.min(lockTtl, left)
      store.run(extendLockOp, keys, { token, lockMs }).then(
        (held) => {
          // The last extension ends the lock at `until`: nothing more to renew.
          if (held && lockMs === lockTtl) schedule()
        },
        (error: unknown) => {
          e.fail('store', error)
          schedule()
        }
      )
    }
    schedule()
    return () => {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  /**
   * Makes `value` what this process's calls for `full` join (the in-flight entry) until the
   * returned function is called, or `maxMs` at most: the answer of a fetch that went on in the
   * background.
   */
  private holdInflight(full: string, value: unknown, maxMs: number): () => void {
    const e = this.engine
    const held: Flight = {
      promise: Promise.resolve(value),
      fetching: false,
      startedAt: Math.floor(e.o.now()),
      tags: NO_TAGS,
    }
    e.inflight.set(full, held)
    e.held.set(full, held)
    const unhold = (): void => {
      clearTimeout(timer)
      if (e.held.get(full) === held) e.dropHeld(full)
    }
    const timer = setTimeout(unhold, Math.max(0, maxMs))
    timer.unref?.()
    return unhold
  }
}
