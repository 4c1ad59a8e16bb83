/**
 * @module limiter
 * `createRateLimiter`: one or more limits per key, checked and consumed atomically on any `Store`.
 */
import {
  type AtomicOp,
  InvalidOptionsError,
  memoryStore,
  type Store,
  type StoreEvent,
  type StoreEventInfo,
  StoreTimeoutError,
  StoreUnavailableError,
  type SyncRun,
} from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { type AdjustInput, adjustOp } from './adjust-op.js'
import { ALGORITHMS, type Algorithm, type OpLimit } from './algorithms.js'
import { blockOp } from './block-op.js'
import {
  type CheckInput,
  type CheckResult,
  checkOp,
  type LimitResult,
  type ReserveOutcome,
  reserveOp,
} from './check-op.js'
import { type Duration, describe, parseWindow } from './duration.js'
import { resetOp } from './reset-op.js'

/** One limit: at most `limit` units of cost per `window`. */
export interface LimitOptions {
  /** Algorithm. Default `'gcra'`. */
  algorithm?: Algorithm
  /** Units allowed per window (positive integer); also the burst capacity. */
  limit: number
  /** Window length: positive integer ms or `'500ms'`, `'10s'`, `'1m'`, `'1h'`, `'1d'`. */
  window: Duration
}

/** The keys of `LimitOptions`: any other key in a `limits[i]` entry is refused. */
const LIMIT_OPTION_KEYS = [
  'algorithm',
  'limit',
  'window',
] as const satisfies readonly (keyof LimitOptions)[]

/**
 * What `check` does when the store is unavailable (it rejects with `StoreTimeoutError` or
 * `StoreUnavailableError`, e.g. Redis is down or its circuit breaker is open):
 * - `'memory'` (default): check on a local `memoryStore()` fallback (same limits and keys, state per
 *   process) and mark the result `degraded: true`.
 * - `'open'`: allow without checking (`remaining = limit`, `retryAfterMs: 0`, `degraded: true`).
 * - `'closed'`: rethrow the store error (status 503); never reported as rate limited.
 *
 * Any other error (a bug, a script error) is always rethrown.
 */
export type StoreErrorPolicy = 'memory' | 'open' | 'closed'

const STORE_ERROR_POLICIES: readonly StoreErrorPolicy[] = ['memory', 'open', 'closed']

/** Options of `createRateLimiter`. */
export interface RateLimiterOptions {
  /** Where state lives. Default: a new `memoryStore()` (per process). */
  store?: Store
  /** One or more limits, all checked (and consumed) together, all-or-nothing. */
  limits: readonly LimitOptions[]
  /** Key part naming this limiter inside the store. Default `'rl'`. */
  prefix?: string
  /**
   * What to do when the store is unavailable: `'memory'` (default), `'open'` or `'closed'`. See
   * `StoreErrorPolicy`. Every check still tries the store first, so results come from it again as
   * soon as it recovers (with `redisStore`, its circuit breaker makes that a fast fail while open).
   */
  onStoreError?: StoreErrorPolicy
  /**
   * In-process cache of denied keys, for remote stores (`store.local === false`): after a denial
   * with a known wait, further checks of that key with the same cost are denied locally, without
   * a store call, until the wait is over or `maxAgeMs` has passed (then the store is asked again),
   * so a flood from one abusive client costs one store call per key per `maxAgeMs`. Trade-off:
   * what another instance changes early (a `release`, `unblock` or `reset` there) is seen here
   * within `maxAgeMs`; this instance's own release / penalize / block / unblock / reset clears its
   * entry at once.
   * `false` disables it. Default `{ maxKeys: 10_000, maxAgeMs: 1000 }`; never used with a memory
   * store, nor for keys over 256 characters (always checked on the store).
   */
  blockCache?: false | BlockCacheOptions
}

/**
 * The keys of `RateLimiterOptions`: any other key is refused (internal: `rateLimit` accepts them
 * beside its own and hands only these to `createRateLimiter`).
 */
export const RATE_LIMITER_OPTION_KEYS = [
  'store',
  'limits',
  'prefix',
  'onStoreError',
  'blockCache',
] as const satisfies readonly (keyof RateLimiterOptions)[]

/** Options of the blocked-key cache (`RateLimiterOptions.blockCache`). */
export interface BlockCacheOptions {
  /** Keys held at most (positive integer), the oldest dropped first. Default `10_000`. */
  maxKeys?: number
  /**
   * How long a cached denial is served without asking the store again (positive integer ms):
   * the longest a block lifted, a key reset or units released by another instance sharing the
   * store keep being denied here. Default `1000`.
   */
  maxAgeMs?: number
}

/** The keys of `BlockCacheOptions`: any other key in `blockCache` is refused. */
const BLOCK_CACHE_OPTION_KEYS = [
  'maxKeys',
  'maxAgeMs',
] as const satisfies readonly (keyof BlockCacheOptions)[]

/** Options of `limiter.check`. */
export interface CheckOptions {
  /** Units to consume (integer ≥ 0). `0` only reads. Default `1`. */
  cost?: number
}

/** The keys of `CheckOptions`: any other key is refused (a misspelt `cost` would consume 1). */
const CHECK_OPTION_KEYS = ['cost'] as const satisfies readonly (keyof CheckOptions)[]

/** The `Store` methods the limiter calls. */
const STORE_METHODS = ['run', 'key', 'on'] as const

/** A resolved limit, as the limiter uses it. */
export interface ResolvedLimit {
  readonly algorithm: Algorithm
  readonly limit: number
  readonly windowMs: number
}

/**
 * Units held by `limiter.reserve` until the real cost is known (e.g. LLM tokens: reserve the
 * estimate, settle with the usage the provider reports). Only the first `settle` or `release`
 * counts; later calls do nothing, so `finally { reservation.release() }` after a settle is safe.
 */
export interface Reservation {
  /** Whether the units were granted (consumed from every limit). */
  readonly allowed: boolean
  /** The check that took the units. */
  readonly result: CheckResult
  /** The units reserved. */
  readonly units: number
  /**
   * Charges the real cost instead of the reserved units: refunds the difference when `actual` is
   * smaller, charges the excess without checking when larger (the key may go into debt, at most
   * one extra window). A refund gives back only what the reservation still holds: nothing of a
   * window that is over (fixed / sliding window), nothing of what has drained or refilled since
   * (GCRA / token bucket), nothing after a `reset` of the key (which gave it all back already).
   * A store failure here is absorbed (counted in `stats().adjustFailures`).
   * @throws InvalidOptionsError naming `actual` unless it is an integer ≥ 0.
   */
  settle(actual: number): Promise<void>
  /** Gives every reserved unit back (the call failed or was cancelled). Same failure rule. */
  release(): Promise<void>
}

/** Counters since the limiter was created (for metrics). */
export interface RateLimiterStats {
  /** Checks answered (reserve included), by outcome. */
  readonly allowed: number
  readonly denied: number
  /** Denials answered from the in-process blocked-key cache, without a store call. */
  readonly cachedDenials: number
  /** Checks answered by the `onStoreError` policy because the store was unavailable. */
  readonly degraded: number
  /**
   * Writes other than checks that could not reach the store and were absorbed: settles and
   * releases (always), penalties, blocks, unblocks and resets (by the `onStoreError` policy,
   * `'memory'` or `'open'`).
   */
  readonly adjustFailures: number
}

/** A rate limiter. */
export interface RateLimiter {
  /** The resolved limits, in order. */
  readonly limits: readonly ResolvedLimit[]
  /** The store holding the state. */
  readonly store: Store
  /**
   * Checks `cost` against every limit for `key` and, only if all allow it, consumes it from all
   * (one atomic op; a rejection consumes nothing). A blocked key (`block`) is always denied.
   * When the store is unavailable, the `onStoreError` policy decides (a degraded result carries
   * `degraded: true`).
   * @throws InvalidOptionsError naming `key` or `cost` when they are invalid.
   * @throws StoreTimeoutError / StoreUnavailableError (503) when the store is unavailable and
   * `onStoreError` is `'closed'`; any non-availability store error under every policy.
   */
  check(key: string, options?: CheckOptions): Promise<CheckResult>
  /**
   * Checks and takes `units` (an estimate, e.g. input tokens + `max_tokens`) like `check`, and
   * returns a `Reservation` to `settle` with the actual units or `release`. A denied reservation's
   * `settle`/`release` do nothing.
   * @throws InvalidOptionsError naming `key` or `units`; store errors as `check`.
   */
  reserve(key: string, units: number): Promise<Reservation>
  /**
   * Charges `units` to `key` without checking (a penalty for a failed login, an abusive
   * request...): the key may go into debt, at most one extra window. Follows `onStoreError`.
   * @throws InvalidOptionsError naming `key` or `units` (positive integer).
   */
  penalize(key: string, units: number): Promise<void>
  /**
   * Denies every check of `key` for `ms` milliseconds (positive integer), on the store's clock,
   * for every instance sharing the store. A longer existing block is kept. Follows `onStoreError`.
   */
  block(key: string, ms: number): Promise<void>
  /**
   * Lifts a block set by `block` (other instances with a cached denial of the key see it within
   * `blockCache.maxAgeMs`). On the limiter's local fallback too (where `block` lands during
   * an outage under `'memory'`), whatever the store does; a store outage follows `onStoreError`
   * (absorbed and counted in `stats().adjustFailures` under `'memory'` / `'open'`, rethrown under
   * `'closed'`).
   */
  unblock(key: string): Promise<void>
  /**
   * Forgets everything about `key`: consumed units in every limit and any block, on the store and
   * the local fallback (in one op each). Reservations of the key open at the time refund nothing
   * afterwards: the reset gave their units back. A store outage follows `onStoreError` as in
   * `unblock`.
   */
  reset(key: string): Promise<void>
  /** Counters for metrics (see `RateLimiterStats`). */
  stats(): RateLimiterStats
  /**
   * The time now on the clock of the results' `resetAt` (epoch ms): the store's (`store.now()`;
   * Redis's `TIME`, estimated without a round trip), this process's for a store without one.
   * `resetAt - limiter.now()` is the wait from now, even when the two machines' clocks disagree.
   * A degraded result (`degraded: true`) is on this process's clock (`Date.now()`).
   */
  now(): number
  /**
   * Subscribes to the store's `degraded` (circuit opened) / `recovered` (probe succeeded) events
   * (same as `store.on`; a memory store never emits them), or to `decision`: every check and
   * reservation's result, cached denials included (for metrics; the key is not passed, since keys
   * are often user ids or IPs). A throwing listener is ignored. Returns an unsubscribe function.
   * @throws InvalidOptionsError naming `event` (any other name) or `listener` (not a function).
   */
  on(event: StoreEvent, listener: (info: StoreEventInfo) => void): () => void
  on(event: 'decision', listener: (result: CheckResult) => void): () => void
}

/**
 * Marks an in-process store on which a limiter has set a block (`limiter.block`; blocks are only
 * ever written by `blockOp`): a check on a local store without the mark skips the block key, since
 * nothing can be there. Remote stores are shared with other processes, so their checks always read
 * it. The mark is a non-enumerable property of the store under a registered symbol, not a set of
 * this module: a second copy of the package in the process (another version, a bundled copy)
 * sharing the app's store must see the blocks the first one sets.
 */
const HAS_BLOCKS: unique symbol = Symbol.for('@aikit/ratelimit.has-blocks')

/** Whether a limiter has set a block on `store` (see `HAS_BLOCKS`). */
const hasBlocks = (store: Store): boolean =>
  (store as unknown as Record<symbol, unknown>)[HAS_BLOCKS] === true

/** `store.run`, which carries `run.sync` on an in-process store (see core's `SyncRun`). */
type MaybeSyncRun = Partial<Pick<SyncRun, 'sync' | 'syncTagged'>>

/** `limit × windowMs` must stay ≤ 2^52 so that all arithmetic is exact in Lua and JavaScript. */
const MAX_LIMIT_TIMES_WINDOW = 2 ** 52

/**
 * Elapsed-time clock (ms) for the blocked-key cache, as core's own `monotonicNow` (not exported):
 * the wall clock is no measure of a wait, an NTP step back of an hour would make a cached denial of
 * a second last an hour (and report that as its wait), a step forward end it at once.
 */
const elapsedNow: () => number =
  typeof performance !== 'undefined' && typeof performance.now === 'function'
    ? () => performance.now()
    : Date.now

/**
 * Longest key the blocked-key cache holds: keys come from clients (an API key header), and a
 * cached key is kept whole, so 10,000 long ones could pin megabytes each. A longer key is checked
 * on the store every time: keying the cache by the store's digest of it instead would put a hash
 * before every lookup, where a length check costs nothing. Real keys (ids, IPs, API keys) are
 * far shorter.
 */
const MAX_CACHED_DENIAL_KEY = 256

interface CachedDenial {
  /** When the denial was cached (`elapsedNow()` clock). */
  at: number
  /** When the denial's wait is over (`elapsedNow()` clock). */
  until: number
  /** When the store must be asked again: the earlier of `until` and the entry's `maxAgeMs`. */
  expires: number
  cost: number
  result: CheckResult
}

/**
 * Creates a rate limiter. Options are validated here: a mistake throws `InvalidOptionsError` naming
 * the field (`limits`, `limits[0].limit`, `limits[1].algorithm`, `limits[0].window`, `prefix`, `store`,
 * `onStoreError`, `blockCache.maxKeys`, `blockCache.maxAgeMs`), an unknown key included
 * (`limits[0].windw`, `blockCache.maxAge`, `prefx`): a misspelt option is not left to its default.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, RATE_LIMITER_OPTION_KEYS)
  validateSharedOptions(options)
  const store = options.store ?? memoryStore()
  const prefix = options.prefix ?? 'rl'
  const onStoreError = options.onStoreError ?? 'memory'
  const blockCache = resolveBlockCache(options.blockCache)
  const maxCached = store.local ? 0 : blockCache.maxKeys
  /**
   * Whether checks may skip the block key of an unmarked store (see `HAS_BLOCKS`): a local store
   * that can take the mark. One that cannot (frozen) is always read.
   */
  let markable = store.local && Object.isExtensible(store)
  const maxCacheAge = blockCache.maxAgeMs
  const limits = resolveLimits(options.limits)
  const opLimits: readonly OpLimit[] = limits
  // Frozen: the memory store then validates them once, not on every check.
  const parts = Object.freeze([...limitKeyParts(prefix, limits), `${prefix}:block`])
  /** The key parts of the limits alone (a check that does not read the block key). */
  const limitParts = Object.freeze(parts.slice(0, limits.length))
  /** Each limit's reset stamp (see `resetOp`), which reservations and their refunds read. */
  const stampParts = limitParts.map((part) => `${part}:reset`)
  /** A reset's and a reservation's key parts: the limits, the block, the reset stamps. */
  const resetParts = Object.freeze([...parts, ...stampParts])
  /** A refund's key parts: the limits, their reset stamps. */
  const refundParts = Object.freeze([...limitParts, ...stampParts])
  const n = limits.length
  const denials = new Map<string, CachedDenial>()
  const counters = { allowed: 0, denied: 0, cachedDenials: 0, degraded: 0, adjustFailures: 0 }
  let fallback: Store | undefined

  const keysOf = (key: string, of: readonly string[] = parts): string[] => {
    const head = store.key(key)
    return of.map((part) => `${head}:${part}`)
  }
  // The inputs of the common cost-1 checks, built once (ops never change their input).
  const input1: CheckInput = Object.freeze({ limits: opLimits, cost: 1 })
  const unblockedInput1: CheckInput = Object.freeze({ limits: opLimits, cost: 1, unblocked: true })
  /** The limit keys alone: a check that does not read the block key does not build it either. */
  const limitKeysOf = (key: string): string[] => {
    const head = store.key(key)
    return n === 1 ? [`${head}:${parts[0]}`] : parts.slice(0, n).map((part) => `${head}:${part}`)
  }
  const fallbackStore = (): Store => {
    fallback ??= memoryStore()
    return fallback
  }

  /** Runs an op on the store, applying `onStoreError`; `open` means "skip" (resolves undefined). */
  const runWithPolicy = async <I, O>(
    op: AtomicOp<I, O>,
    keys: readonly string[],
    input: I
  ): Promise<{ value: O; served: Store } | undefined> => {
    try {
      return { value: await store.run(op, keys, input), served: store }
    } catch (error) {
      if (onStoreError === 'closed' || !isUnavailable(error)) throw error
      if (onStoreError === 'open') return undefined
      const local = fallbackStore()
      return { value: await local.run(op, keys, input), served: local }
    }
  }

  /** Counts a write (`block`, `penalize`) that `runWithPolicy` could not make on the store. */
  const degradedWrite = (outcome: { served: Store } | undefined): void => {
    if (outcome === undefined || outcome.served !== store) counters.adjustFailures++
  }

  /**
   * Deletes `keys` (`unblock`) on the fallback, whatever the store then does (a block or
   * debt it took during an outage must not outlive the call), and on the store: every key is tried.
   * A store outage follows `onStoreError`: rethrown with `'closed'`, else absorbed and counted (the
   * store keeps what it had, as it would have with the call made during the outage). Any other
   * error is rethrown.
   */
  const deleteWithPolicy = async (keys: readonly string[]): Promise<void> => {
    if (fallback !== undefined) for (const k of keys) await fallback.delete(k)
    const outcomes = await Promise.allSettled(keys.map((k) => store.delete(k)))
    let outage: unknown
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') continue
      if (!isUnavailable(outcome.reason)) throw outcome.reason
      outage ??= outcome.reason
    }
    if (outage === undefined) return
    if (onStoreError === 'closed') throw outage
    counters.adjustFailures++
  }

  /**
   * `reset`'s `resetOp` on `keys` (`resetParts`), as `deleteWithPolicy`: on the fallback, whatever
   * the store then does, and on the store (one op: every key or none).
   */
  const resetWithPolicy = async (keys: readonly string[]): Promise<void> => {
    if (fallback !== undefined) await fallback.run(resetOp, keys, opLimits)
    try {
      await store.run(resetOp, keys, opLimits)
    } catch (error) {
      if (onStoreError === 'closed' || !isUnavailable(error)) throw error
      counters.adjustFailures++
    }
  }

  const decisionListeners: ((result: CheckResult) => void)[] = []
  const emitDecision = (result: CheckResult): void => {
    for (const listener of decisionListeners) {
      try {
        listener(result)
      } catch {
        // A metrics hook must never fail a check.
      }
    }
  }

  // Bumped by every reset, unblock and refund (before and after its store call): a check that
  // started before one may carry an answer from before it, which must not be cached after it.
  let clears = 0
  /** Forgets the cached denial of `key`, and any an older check in flight would cache. */
  const forget = (key: string): void => {
    denials.delete(key)
    clears++
  }

  /** Counts a result and caches a denial; `since`: the `clears` the check started under. */
  const record = (key: string, cost: number, result: CheckResult, since = clears): CheckResult => {
    if (decisionListeners.length > 0) emitDecision(result)
    if (result.allowed) counters.allowed++
    else {
      counters.denied++
      if (
        maxCached > 0 &&
        result.retryAfterMs > 0 &&
        result.degraded === undefined &&
        since === clears &&
        key.length <= MAX_CACHED_DENIAL_KEY
      ) {
        if (denials.size >= maxCached) {
          const oldest = denials.keys().next().value
          if (oldest !== undefined) denials.delete(oldest)
        }
        const now = elapsedNow()
        const until = now + result.retryAfterMs
        denials.set(key, {
          at: now,
          until,
          expires: Math.min(until, now + maxCacheAge),
          cost,
          result,
        })
      }
    }
    return result
  }

  const cachedDenial = (key: string, cost: number): CheckResult | undefined => {
    const hit = denials.get(key)
    if (hit === undefined) return undefined
    const now = elapsedNow()
    if (now >= hit.expires) {
      denials.delete(key)
      return undefined
    }
    // Only the same cost gets the same answer (a smaller one may fit sooner, and each limit's
    // details depend on the cost); a flood of identical requests is what this cache is for.
    if (cost !== hit.cost) return undefined
    counters.denied++
    counters.cachedDenials++
    // Whole ms, as the store reports waits (the elapsed-time clock has fractions). Each limit's
    // wait too, as the store would report it now: what has passed since, at least 0 (`-1`, never,
    // stays). `until` is `at` + the result's wait, so the largest limit's wait is the result's.
    const retryAfterMs = Math.ceil(hit.until - now)
    const limits = hit.result.limits.map((l) =>
      l.retryAfterMs > 0
        ? { ...l, retryAfterMs: Math.max(0, Math.ceil(hit.at + l.retryAfterMs - now)) }
        : l
    )
    const cached: CheckResult = { ...hit.result, retryAfterMs, limits, cached: true }
    if (decisionListeners.length > 0) emitDecision(cached)
    return cached
  }

  const degradedResult = (key: string, cost: number, error: unknown): Promise<CheckResult> => {
    if (onStoreError === 'closed' || !isUnavailable(error)) return Promise.reject(error)
    counters.degraded++
    if (onStoreError === 'open') return Promise.resolve(openResult(limits))
    return fallbackStore()
      .run(checkOp, keysOf(key), { limits: opLimits, cost })
      .then((local) => ({ ...local, degraded: true as const, reason: 'store-error' as const }))
  }

  const validKey = (key: unknown): key is string => typeof key === 'string' && key.length > 0

  /**
   * Whether `now()` is on the clock of the store's results (`resetAt`): `false` while a store with
   * `clockReady` has not measured it (a Redis store created while Redis was down: its first `TIME`
   * failed). Until then, a result the store served waits for the measurement out (bounded by the
   * store's command timeout; none out: no wait), so that `resetAt - now()` is a wait, not the skew;
   * a failed measurement is not final, the next served result asks again. Once known, no check
   * waits (no promise more per check).
   */
  let clockKnown = typeof store.clockReady !== 'function'
  const waitClock = (): Promise<void> =>
    Promise.resolve(store.clockReady?.()).then(
      (known) => {
        // `undefined`: a store of the older contract (resolved once measured or failed).
        if (known !== false) clockKnown = true
      },
      () => {}
    )
  const afterClock = (result: CheckResult): Promise<CheckResult> => waitClock().then(() => result)

  const check = (key: string, checkOptions?: CheckOptions): Promise<CheckResult> => {
    if (!validKey(key)) {
      return Promise.reject(new InvalidOptionsError('key', 'must be a non-empty string'))
    }
    let cost = 1
    if (checkOptions !== undefined) {
      if (checkOptions === null || typeof checkOptions !== 'object') {
        return Promise.reject(new InvalidOptionsError('options', 'must be an object'))
      }
      // Per check (the middleware passes `{ cost }` on every request): the common shape costs a
      // key walk, the full check with its hint runs only for another key.
      for (const name in checkOptions) {
        if (name === 'cost' || !Object.hasOwn(checkOptions, name)) continue
        try {
          rejectUnknownOptions(checkOptions, CHECK_OPTION_KEYS)
        } catch (error) {
          return Promise.reject(error)
        }
      }
      cost = checkOptions.cost ?? 1
      if (!Number.isSafeInteger(cost) || cost < 0) {
        return Promise.reject(
          new InvalidOptionsError('cost', `must be an integer >= 0; got ${describe(cost)}`)
        )
      }
    }
    if (maxCached > 0 && denials.size > 0) {
      const cached = cachedDenial(key, cost)
      if (cached !== undefined) return Promise.resolve(cached)
    }
    // An in-process store never blocked by any limiter has no block key to read (see `HAS_BLOCKS`).
    const unblocked = markable && !hasBlocks(store)
    const input: CheckInput =
      cost === 1
        ? unblocked
          ? unblockedInput1
          : input1
        : unblocked
          ? { limits: opLimits, cost, unblocked }
          : { limits: opLimits, cost }
    const tagged = (store.run as MaybeSyncRun).syncTagged
    if (tagged !== undefined) {
      // An in-process store answers synchronously and finds the keys by the user's key itself:
      // no promise chain, no closures, no key strings built per check.
      try {
        return Promise.resolve(
          record(key, cost, tagged(checkOp, key, unblocked ? limitParts : parts, input))
        )
      } catch (error) {
        return degradedResult(key, cost, error).then((r) => record(key, cost, r))
      }
    }
    const keys = unblocked ? limitKeysOf(key) : keysOf(key)
    const sync = (store.run as MaybeSyncRun).sync
    if (sync !== undefined) {
      // An in-process store answers synchronously: no promise chain, no closures.
      try {
        return Promise.resolve(record(key, cost, sync(checkOp, keys, input)))
      } catch (error) {
        return degradedResult(key, cost, error).then((r) => record(key, cost, r))
      }
    }
    const since = clears
    return store.run(checkOp, keys, input).then(
      (result) =>
        clockKnown
          ? record(key, cost, result, since)
          : afterClock(result).then((r) => record(key, cost, r, since)),
      (error: unknown) => degradedResult(key, cost, error).then((r) => record(key, cost, r))
    )
  }

  /**
   * Adds `units` (negative: a refund) to every limit of `key` on `served`; `seen`: the reset
   * stamps a refund's reservation saw (see `AdjustInput.seen`), compared with the limits' own.
   */
  const adjust = (
    served: Store,
    key: string,
    units: number,
    taken: readonly number[],
    seen?: readonly number[]
  ): Promise<void> => {
    if (units < 0) forget(key)
    const input: AdjustInput =
      seen === undefined
        ? { limits: opLimits, units, taken }
        : { limits: opLimits, units, taken, seen }
    const adjustParts = seen === undefined ? limitParts : refundParts
    // The limiter's own in-process store runs it synchronously, by the user's key (no key strings
    // built). Never the fallback: it holds its state under the keys the store builds (`keysOf`),
    // which its own `syncTagged` keys match only when both stores have the same prefix.
    const tagged = served === store ? (served.run as MaybeSyncRun).syncTagged : undefined
    if (tagged !== undefined) {
      try {
        tagged(adjustOp, key, adjustParts, input)
        return RESOLVED
      } catch (error) {
        return adjustFailed(error)
      }
    }
    const done = served.run(adjustOp, keysOf(key, adjustParts), input)
    return (units < 0 ? done.finally(() => forget(key)) : done).then(() => undefined, adjustFailed)
  }
  /** A store outage during an adjustment is absorbed and counted; anything else is thrown. */
  const adjustFailed = (error: unknown): Promise<void> => {
    if (!isUnavailable(error)) return Promise.reject(error)
    counters.adjustFailures++
    return RESOLVED
  }

  /** `reserve` on a remote store, or after an in-process store failed: with the store policy. */
  const reserveThroughPolicy = async (key: string, units: number): Promise<Reservation> => {
    const cached = maxCached > 0 ? cachedDenial(key, units) : undefined
    if (cached !== undefined) return deniedReservation(cached, units)
    const since = clears
    const outcome = await runWithPolicy(reserveOp, keysOf(key, resetParts), {
      limits: opLimits,
      cost: units,
    })
    if (outcome === undefined) {
      counters.degraded++
      return deniedOrOpen(record(key, units, openResult(limits)), units)
    }
    let { result } = outcome.value
    if (outcome.served !== store) {
      counters.degraded++
      result = { ...result, degraded: true, reason: 'store-error' }
    } else if (!clockKnown) {
      await waitClock()
    }
    record(key, units, result, since)
    if (!result.allowed) return deniedReservation(result, units)
    return new GrantedReservation(holder, outcome.served, key, result, outcome.value.seen, units)
  }

  /** What a granted reservation needs of its limiter to settle. */
  const holder: ReservationHolder = {
    adjust(served, key, units, result, seen) {
      return units < 0
        ? adjust(served, key, units, takenBy(result), seen)
        : adjust(served, key, units, NO_TAKEN)
    },
  }
  /**
   * Per limit, where a reservation's units went (see `AdjustInput.taken`), so that a refund gives
   * back only what it still holds: the window they were counted in (fixed / sliding window), or
   * when they would have drained (GCRA) / been refilled (token bucket): the limit's `resetAt`.
   */
  const takenBy = (result: CheckResult): readonly number[] =>
    limits.map((l, i) => {
      const resetAt = result.limits[i]?.resetAt ?? 0
      return l.algorithm === 'fixed-window' || l.algorithm === 'sliding-window'
        ? resetAt - l.windowMs
        : resetAt
    })
  /** The marks of a charge (which ignores them). */
  const NO_TAKEN: readonly number[] = Object.freeze(limits.map(() => 0))

  // A Redis store measures its offset to the server's TIME from its first read: started here, its
  // TIME goes out before the first check on the same connection and is answered first, so the
  // first response's `t` / reset (from `now()`) is on the server's clock, not this machine's.
  // (If that TIME fails, `clockKnown` stays false: see `waitClock`.)
  if (!clockKnown) void waitClock()

  return Object.freeze({
    limits,
    store,
    check,
    now: (): number => (typeof store.now === 'function' ? store.now() : Date.now()),
    reserve(key: string, units: number): Promise<Reservation> {
      if (!validKey(key)) {
        return Promise.reject(new InvalidOptionsError('key', 'must be a non-empty string'))
      }
      if (!Number.isSafeInteger(units) || units < 0) {
        return Promise.reject(
          new InvalidOptionsError('units', `must be an integer >= 0; got ${describe(units)}`)
        )
      }
      const tagged = (store.run as MaybeSyncRun).syncTagged
      if (tagged === undefined || (maxCached > 0 && denials.size > 0)) {
        return reserveThroughPolicy(key, units)
      }
      // An in-process store: the same synchronous path as `check` (no key strings, no promise
      // chain). A throw (a closed store) goes through the policy like any other store error.
      const unblocked = markable && !hasBlocks(store)
      let reserved: ReserveOutcome
      try {
        reserved = tagged(
          reserveOp,
          key,
          resetParts,
          unblocked
            ? { limits: opLimits, cost: units, unblocked }
            : { limits: opLimits, cost: units }
        )
      } catch {
        return reserveThroughPolicy(key, units)
      }
      const { result } = reserved
      record(key, units, result)
      return Promise.resolve(
        result.allowed
          ? new GrantedReservation(holder, store, key, result, reserved.seen, units)
          : deniedReservation(result, units)
      )
    },
    async penalize(key: string, units: number): Promise<void> {
      if (!validKey(key)) throw new InvalidOptionsError('key', 'must be a non-empty string')
      if (!Number.isSafeInteger(units) || units <= 0) {
        throw new InvalidOptionsError('units', `must be a positive integer; got ${describe(units)}`)
      }
      const input = { limits: opLimits, units, taken: NO_TAKEN }
      // As `block`: a cached denial from before the charge understates the wait it now has.
      forget(key)
      try {
        degradedWrite(await runWithPolicy(adjustOp, keysOf(key, limitParts), input))
      } finally {
        forget(key)
      }
    },
    async block(key: string, ms: number): Promise<void> {
      if (!validKey(key)) throw new InvalidOptionsError('key', 'must be a non-empty string')
      if (!Number.isSafeInteger(ms) || ms <= 0) {
        throw new InvalidOptionsError('ms', `must be a positive integer; got ${describe(ms)}`)
      }
      const keys = keysOf(key)
      // Before the run: a check racing with it must read the block key. (The fallback store is
      // never checked with `unblocked`, so it needs no mark.) A store that cannot take the mark
      // (frozen since) is read by this limiter's checks from now on.
      if (markable && !hasBlocks(store)) {
        markable = Reflect.defineProperty(store, HAS_BLOCKS, { value: true })
      }
      // This instance's cached denial of the key (and any check in flight) predates the block:
      // its next check must report the block (`blocked: true`, its wait), not the older denial.
      forget(key)
      try {
        degradedWrite(await runWithPolicy(blockOp, [keys[n] as string], ms))
      } finally {
        forget(key)
      }
    },
    async unblock(key: string): Promise<void> {
      if (!validKey(key)) throw new InvalidOptionsError('key', 'must be a non-empty string')
      forget(key)
      try {
        await deleteWithPolicy([keysOf(key)[n] as string])
      } finally {
        forget(key)
      }
    },
    async reset(key: string): Promise<void> {
      if (!validKey(key)) throw new InvalidOptionsError('key', 'must be a non-empty string')
      forget(key)
      try {
        await resetWithPolicy(keysOf(key, resetParts))
      } finally {
        forget(key)
      }
    },
    stats(): RateLimiterStats {
      return { ...counters }
    },
    on(
      event: StoreEvent | 'decision',
      listener: ((info: StoreEventInfo) => void) & ((result: CheckResult) => void)
    ): () => void {
      if (event !== 'decision' && event !== 'degraded' && event !== 'recovered') {
        throw new InvalidOptionsError(
          'event',
          `must be 'degraded', 'recovered' or 'decision'; got ${describe(event)}`
        )
      }
      if (typeof listener !== 'function') {
        throw new InvalidOptionsError('listener', 'must be a function')
      }
      if (event !== 'decision') return store.on(event, listener)
      decisionListeners.push(listener)
      return () => {
        const i = decisionListeners.indexOf(listener)
        if (i !== -1) decisionListeners.splice(i, 1)
      }
    },
  })
}

function isUnavailable(error: unknown): boolean {
  return error instanceof StoreTimeoutError || error instanceof StoreUnavailableError
}

const RESOLVED: Promise<void> = Promise.resolve()

/** How a `GrantedReservation` reaches its limiter (one object per limiter, not closures per call). */
interface ReservationHolder {
  /**
   * Adds `units` (negative: a refund, capped at what the reservation `result`, which saw the reset
   * stamps `seen`, still holds) to every limit of `key` on `served`; never rejects on a store
   * outage.
   */
  adjust(
    served: Store,
    key: string,
    units: number,
    result: CheckResult,
    seen: readonly number[]
  ): Promise<void>
}

/** A granted reservation: `settle` or `release`, whichever comes first, adjusts once. */
class GrantedReservation implements Reservation {
  readonly allowed = true
  readonly result: CheckResult
  readonly units: number
  readonly #holder: ReservationHolder
  readonly #served: Store
  readonly #key: string
  /** The reset stamps the check that took the units saw (a later `reset` cancels their refund). */
  readonly #seen: readonly number[]
  #done = false

  constructor(
    holder: ReservationHolder,
    served: Store,
    key: string,
    result: CheckResult,
    seen: readonly number[],
    units: number
  ) {
    this.result = result
    this.units = units
    this.#holder = holder
    this.#served = served
    this.#key = key
    this.#seen = seen
  }

  settle(actual: number): Promise<void> {
    if (!Number.isSafeInteger(actual) || actual < 0) {
      return Promise.reject(
        new InvalidOptionsError('actual', `must be an integer >= 0; got ${describe(actual)}`)
      )
    }
    return this.#finish(actual)
  }

  release(): Promise<void> {
    return this.#finish(0)
  }

  #finish(actual: number): Promise<void> {
    if (this.#done) return RESOLVED
    this.#done = true
    const delta = actual - this.units
    return delta === 0
      ? RESOLVED
      : this.#holder.adjust(this.#served, this.#key, delta, this.result, this.#seen)
  }
}

function deniedReservation(result: CheckResult, units: number): Reservation {
  return Object.freeze({
    allowed: false,
    result,
    units,
    settle: (actual: number) =>
      Number.isSafeInteger(actual) && actual >= 0
        ? Promise.resolve()
        : Promise.reject(
            new InvalidOptionsError('actual', `must be an integer >= 0; got ${describe(actual)}`)
          ),
    release: () => Promise.resolve(),
  })
}

/** The `'open'` policy's reservation: allowed, nothing was taken, so nothing to settle. */
function deniedOrOpen(result: CheckResult, units: number): Reservation {
  return Object.freeze({ ...deniedReservation(result, units), allowed: true })
}

/**
 * Validates every option of `createRateLimiter` but `limits` (`store`, `prefix`, `onStoreError`,
 * `blockCache`), throwing `InvalidOptionsError` naming the field. Internal: also used by
 * `rateLimit` to check a tiered middleware's shared options once, under their own names.
 */
export function validateSharedOptions(options: Omit<RateLimiterOptions, 'limits'>): void {
  const { store } = options
  if (store !== undefined) {
    if (store === null || typeof store !== 'object') {
      throw new InvalidOptionsError(
        'store',
        'must be a Store (memoryStore() or redisStore(client))'
      )
    }
    // The methods the limiter calls: one missing would fail the first check (or `on`), not here.
    for (const method of STORE_METHODS) {
      if (typeof (store as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new InvalidOptionsError(
          'store',
          `must be a Store (memoryStore() or redisStore(client)); missing ${method}()`
        )
      }
    }
  }
  const prefix = options.prefix ?? 'rl'
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new InvalidOptionsError('prefix', 'must be a non-empty string without `{` or `}`')
  }
  const onStoreError = options.onStoreError ?? 'memory'
  if (!STORE_ERROR_POLICIES.includes(onStoreError)) {
    throw new InvalidOptionsError(
      'onStoreError',
      `must be one of ${STORE_ERROR_POLICIES.map((p) => `'${p}'`).join(', ')}; got ${describe(onStoreError)}`
    )
  }
  resolveBlockCache(options.blockCache)
}

/** The blocked-key cache's options once validated (`maxKeys` 0: disabled). */
function resolveBlockCache(option: RateLimiterOptions['blockCache']): Required<BlockCacheOptions> {
  if (option === false) return { maxKeys: 0, maxAgeMs: 0 }
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new InvalidOptionsError(
      'blockCache',
      'must be false or { maxKeys?: number, maxAgeMs?: number }'
    )
  }
  if (option !== undefined) rejectUnknownOptions(option, BLOCK_CACHE_OPTION_KEYS, 'blockCache.')
  const maxKeys = option?.maxKeys ?? 10_000
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new InvalidOptionsError(
      'blockCache.maxKeys',
      `must be a positive integer; got ${describe(maxKeys)}`
    )
  }
  const maxAgeMs = option?.maxAgeMs ?? 1000
  if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 1) {
    throw new InvalidOptionsError(
      'blockCache.maxAgeMs',
      `must be a positive integer (ms); got ${describe(maxAgeMs)}`
    )
  }
  return { maxKeys, maxAgeMs }
}

/** The `'open'` policy's answer: allowed, nothing consumed, every limit reported full. */
function openResult(limits: readonly ResolvedLimit[]): CheckResult {
  const now = Date.now()
  const results: LimitResult[] = limits.map((l) => ({
    limit: l.limit,
    remaining: l.limit,
    resetAt: now,
    retryAfterMs: 0,
  }))
  let tightest = results[0] as LimitResult
  for (const r of results) if (r.remaining < tightest.remaining) tightest = r
  return {
    allowed: true,
    remaining: tightest.remaining,
    limit: tightest.limit,
    resetAt: now,
    retryAfterMs: 0,
    limits: results,
    degraded: true,
    reason: 'store-error',
  }
}

/**
 * The key part of each limit (internal; tests use it): the limit's configuration is part of the key,
 * so changing a limit starts fresh state instead of misreading the old one.
 */
export function limitKeyParts(prefix: string, limits: readonly ResolvedLimit[]): string[] {
  return limits.map((l) => `${prefix}:${l.algorithm}:${l.limit}:${l.windowMs}`)
}

function resolveLimits(input: unknown): readonly ResolvedLimit[] {
  if (!Array.isArray(input) || input.length === 0) {
    throw new InvalidOptionsError(
      'limits',
      'must be a non-empty array of { algorithm?, limit, window }'
    )
  }
  const seen = new Set<string>()
  const out: ResolvedLimit[] = []
  // Every index, holes included (`forEach` skipped them: `[,]` built a limiter with no limits), up
  // to the first bad one: a long sparse array is not copied whole before its first hole is named.
  for (let i = 0; i < input.length; i++) {
    const raw: unknown = input[i]
    const field = `limits[${i}]`
    if (raw === null || typeof raw !== 'object') {
      throw new InvalidOptionsError(field, 'must be an object { algorithm?, limit, window }')
    }
    rejectUnknownOptions(raw, LIMIT_OPTION_KEYS, `${field}.`)
    const l = raw as { algorithm?: unknown; limit?: unknown; window?: unknown }
    const algorithm = l.algorithm ?? 'gcra'
    if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm as Algorithm)) {
      throw new InvalidOptionsError(
        `${field}.algorithm`,
        `must be one of ${ALGORITHMS.map((a) => `'${a}'`).join(', ')}; got ${describe(algorithm)}`
      )
    }
    const limit = l.limit
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0) {
      throw new InvalidOptionsError(
        `${field}.limit`,
        `must be a positive integer; got ${describe(limit)}`
      )
    }
    const windowMs = parseWindow(l.window, `${field}.window`)
    if (limit * windowMs > MAX_LIMIT_TIMES_WINDOW) {
      throw new InvalidOptionsError(
        `${field}.limit`,
        `limit × window (ms) must be at most 2^52 so the arithmetic stays exact; got ${limit} × ${windowMs}`
      )
    }
    const id = `${algorithm}:${limit}:${windowMs}`
    if (seen.has(id)) throw new InvalidOptionsError(field, `duplicates an earlier limit (${id})`)
    seen.add(id)
    out.push(Object.freeze({ algorithm: algorithm as Algorithm, limit, windowMs }))
  }
  return Object.freeze(out)
}
