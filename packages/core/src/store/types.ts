/**
 * @module store/types
 * The `Store` interface every stateful package uses (rate limiter, cache, budgets), and the shape of
 * one atomic operation (`AtomicOp`) that runs as Lua on Redis and as JavaScript in memory.
 */

/**
 * A reply as Redis returns it from a script, after ioredis decoding: integers, strings, `null`
 * (nil / Lua `false`) and arrays of those. This is what `AtomicOp.decode` receives from both stores.
 */
export type RedisReply = number | string | null | RedisReply[]

/**
 * What an op's `js` function may return. It is converted exactly as Redis converts a Lua value:
 * numbers are truncated to integers, `true` → 1, `false` → `null`, an array stops at its first
 * `null`/`undefined` (a Lua table stops at its first nil; use `false` for a nil element inside an
 * array), `{ ok }` → the status string, `{ err }` → the call rejects.
 */
export type JsReply =
  | number
  | string
  | boolean
  | null
  | undefined
  | readonly JsReply[]
  | { readonly ok: string }
  | { readonly err: string }

/** Options of `MemoryData.set`, mirroring `SET key value [NX|XX] [PX ms] [KEEPTTL]`. */
export interface MemorySetOptions {
  /** Expire after this many milliseconds (positive integer). Default: no expiry. */
  px?: number
  /** Only set if the key does not exist. Default `false`. */
  nx?: boolean
  /** Only set if the key exists. Default `false`. */
  xx?: boolean
  /** Keep the key's current expiry instead of clearing it. Default `false`. */
  keepTtl?: boolean
}

/**
 * The Redis-like data model an op's `js` function works on (memory store). Each method behaves as the
 * Redis command of the same name called from Lua: missing values are `null` (Lua `false`), numbers
 * given as values are stored as Lua would send them (`%.17g`), type mismatches throw `WRONGTYPE`, and
 * only keys passed to the op may be touched (as on Redis Cluster).
 */
export interface MemoryData {
  /** GET: the string value, or `null`. */
  get(key: string): string | null
  /** SET with options; returns `true` if the value was written (`false` when NX/XX prevented it). */
  set(key: string, value: string | number, options?: MemorySetOptions): boolean
  /** DEL: number of keys removed. */
  del(...keys: string[]): number
  /** EXISTS: number of the given keys that exist. */
  exists(...keys: string[]): number
  /** INCRBY: the new value; the key is created at 0; throws if the value is not an integer. */
  incrby(key: string, increment: number): number
  /** HGET: the field's value, or `null`. */
  hget(key: string, field: string): string | null
  /** HMGET: one value or `null` per field. */
  hmget(key: string, ...fields: string[]): (string | null)[]
  /** HSET key field value [field value ...]: number of fields that were new. */
  hset(key: string, ...fieldValues: (string | number)[]): number
  /** HDEL: number of fields removed (the key is removed when its hash becomes empty). */
  hdel(key: string, ...fields: string[]): number
  /** HGETALL as Lua sees it: a flat array `[field, value, field, value, ...]`. */
  hgetall(key: string): string[]
  /** HINCRBY: the new value of the field. */
  hincrby(key: string, field: string, increment: number): number
  /** PEXPIRE: 1 if the key exists (a non-positive `ms` deletes it), else 0. */
  pexpire(key: string, ms: number): number
  /** PTTL: milliseconds left, -1 without expiry, -2 if the key does not exist. */
  pttl(key: string): number
}

/**
 * The data model of an op's `native` body (memory store hot path): each key holds the op's own
 * JavaScript value, with an optional expiry (lazy, no timer per key). Values are kept by reference
 * (no copy, no serialisation): mutate them only together with `set`.
 */
export interface NativeData {
  /** The value at `key`, or `undefined` when missing or expired. Throws WRONGTYPE on a key a `js` op wrote. */
  get(key: string): unknown
  /** Stores `value` at `key`, expiring after `ttlMs` (positive integer) or never when omitted. */
  set(key: string, value: unknown, ttlMs?: number): void
  /** Removes `key`; `true` if it held a live value. */
  delete(key: string): boolean
  /** Milliseconds left, -1 without expiry, -2 if the key does not exist (as Redis PTTL), any type. */
  pttl(key: string): number
}

/**
 * One atomic read-modify-write, defined once for both stores (see `defineOp`).
 * @typeParam I - the input the caller passes to `store.run`.
 * @typeParam O - the decoded result.
 */
export interface AtomicOp<I, O> {
  /** Name for errors and metrics. */
  readonly name: string
  /** Redis Lua script using `KEYS`, `ARGV` and `redis.call('TIME')` as its only clock. */
  readonly lua: string
  /**
   * The same logic on the Redis-like memory data model; returns the reply the Lua script would
   * return. Absent when the op has a `native` body instead.
   */
  readonly js?: (
    data: MemoryData,
    keys: readonly string[],
    argv: readonly string[],
    nowMs: number
  ) => JsReply
  /**
   * The same logic on the op's own JavaScript values (see `NativeData`), returning the decoded
   * result directly: the memory store's fast path (no ARGV strings, no reply decoding). When both
   * bodies exist the memory store runs this one.
   */
  readonly native?: (data: NativeData, keys: readonly string[], input: I, nowMs: number) => O
  /** Builds `ARGV` (strings) from the input. */
  readonly encode: (input: I) => readonly string[]
  /** Turns the raw reply (identical from both stores) into the result. */
  readonly decode: (reply: RedisReply) => O
  /** Lua run first in a batch of this op's calls on Redis (see `OpDefinition.batchLua`). */
  readonly batchLua?: string
  /** At most how many keys a run adds (see `OpDefinition.newKeys`); absent: every key not held. */
  readonly newKeys?: (keys: readonly string[], input: I, holds: (key: string) => boolean) => number
}

/** Events a store emits. Memory stores never emit them. */
export type StoreEvent = 'degraded' | 'recovered'

/** Payload of `degraded` / `recovered` events. */
export interface StoreEventInfo {
  /** Which store emitted the event. */
  readonly store: 'memory' | 'redis'
  /**
   * `degraded`: why the circuit opened, e.g. `failures`; `recovered`: `probe-succeeded`, or on a
   * Cluster `failover` (the master whose circuit was open left the slot table).
   */
  readonly reason: string
  /** `degraded`: number of consecutive failures that opened the circuit. */
  readonly failures?: number
  /** `degraded`: the last failure. */
  readonly error?: unknown
  /** `recovered`: milliseconds since the store became degraded. */
  readonly downMs?: number
  /**
   * On a Redis Cluster, the master (`host:port`) whose circuit opened (`degraded`: the first of
   * the store's to open) or closed (`recovered`: the last to close). Each master has a circuit of
   * its own: the store is degraded while any is open. With a client that reads from replicas
   * (ioredis `scaleReads` other than `'master'`), the servers a slot's reads go to have one too:
   * `node` is then their addresses joined with commas (`'slave'`: the replicas; otherwise the
   * master and its replicas).
   */
  readonly node?: string
}

/** Options of `Store.set`. */
export interface StoreSetOptions {
  /** Time to live in milliseconds (positive, at most Number.MAX_SAFE_INTEGER; fractions are rounded up). Default: no expiry. */
  ttlMs?: number
}

/**
 * What the `run` method of a store whose ops complete synchronously in-process (`memoryStore`)
 * carries: `store.run.sync(op, keys, input)` runs the op like `run` but returns its result, or
 * throws what `run` would reject with. It saves a promise and a microtask per op on hot paths
 * (the rate limiter's check). It lives on the `run` function rather than on the store, so a
 * wrapper that replaces `run` (`{ ...store, run: ... }`) drops it and its own `run` is honoured.
 */
export interface SyncRun {
  readonly sync?: <I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I) => O
  /**
   * `sync(op, parts.map((part) => store.key(tag, part)), input)` without building the keys: the
   * memory store keeps such keys in an index by `tag` (a string the caller already holds, e.g. a
   * user id), which saves building and hashing a key string per op on a hot path. The keys are
   * the same ones (`get`, `delete`, `run` with the built keys reach them). An op with a `native`
   * body receives `parts` as its `keys` (handles for its `NativeData` methods, which is all a
   * native body may use them for); any other op runs on the built keys.
   */
  readonly syncTagged?: <I, O>(
    op: AtomicOp<I, O>,
    tag: string,
    parts: readonly string[],
    input: I
  ) => O
}

/**
 * The store every stateful package uses. Values are strings (callers serialise). Every
 * read-modify-write goes through `run`, which is atomic on both stores.
 */
export interface Store {
  /** Which implementation this is. */
  readonly kind: 'memory' | 'redis'
  /**
   * `true` when state is per-process (memory): packages can warn that limits and caches are not
   * shared between instances.
   */
  readonly local: boolean
  /** Reads a string value; `undefined` if missing or expired. */
  get(key: string): Promise<string | undefined>
  /** Writes a string value, optionally with a time to live. */
  set(key: string, value: string, options?: StoreSetOptions): Promise<void>
  /** Deletes a key; `true` if it existed. */
  delete(key: string): Promise<boolean>
  /**
   * Runs one atomic op on `keys` (which must all share one `{hash tag}`, see `key`).
   * @returns the op's decoded reply.
   */
  run<I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I): Promise<O>
  /**
   * Builds a key `${prefix}:{${tag}}:${parts.join(':')}`. All keys built with the same `tag` share a
   * Redis Cluster slot, so one op may use them together. `{`, `}` and `%` in the tag are
   * percent-escaped; a tag longer than 256 characters is replaced by its SHA-256 digest (a
   * client-chosen key must not make the store hold kilobytes per key); an empty tag throws.
   */
  key(tag: string, ...parts: string[]): string
  /** Subscribes to `degraded` / `recovered`; returns an unsubscribe function. */
  on(event: StoreEvent, listener: (info: StoreEventInfo) => void): () => void
  /** Stops the store: later calls reject with `StoreUnavailableError`. */
  close(): Promise<void>
  /**
   * The time now on the clock the store's ops read (epoch ms, an integer), known without a round
   * trip: `memoryStore`'s `now` option; for `redisStore`, the server's `TIME` as last measured
   * plus the elapsed time since (see `clockReady`). An absolute time an op returned (a rate limit's
   * `resetAt`) minus this is a duration from now, whatever the skew between the two machines.
   * Optional: a store without it uses this process's clock.
   */
  now?(): number
  /**
   * Resolves (never rejects) with whether `now()` is on the ops' clock: for `redisStore`, `true`
   * once a `TIME` measurement has answered (at once from then on), `false` when it settled without
   * one (Redis unreachable; `now()` is then this process's clock, off by the whole skew). While
   * unmeasured, a later call waits for the measurement then out (bounded by the store's command
   * timeout; `redisStore` measures again when its client reconnects) or resolves `false` at once.
   * A component that stamps times other instances compare (the cache's entries) awaits it before
   * stamping, and again while it got `false`. A store resolving `undefined` (this method once
   * resolved nothing) is taken to have its clock. Optional: a store without it (`memoryStore`)
   * has its clock at once.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store written for `Promise<void>` still fits
  clockReady?(): Promise<boolean | void>
}
