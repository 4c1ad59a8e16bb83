/**
 * @module limiter
 * `createRateLimiter`: one or more limits per key, checked and consumed atomically on any `Store`.
 */
import {
  InvalidOptionsError,
  memoryStore,
  type Store,
  type StoreEvent,
  type StoreEventInfo,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@aikit/core'
import {
  ALGORITHMS,
  type Algorithm,
  type CheckResult,
  checkOp,
  type LimitResult,
  type OpLimit,
} from './check-op.js'
import { type Duration, parseWindow } from './duration.js'

/** One limit: at most `limit` units of cost per `window`. */
export interface LimitOptions {
  /** Algorithm. Default `'gcra'`. */
  algorithm?: Algorithm
  /** Units allowed per window (positive integer); also the burst capacity. */
  limit: number
  /** Window length: positive integer ms or `'500ms'`, `'10s'`, `'1m'`, `'1h'`, `'1d'`. */
  window: Duration
}

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
}

/** Options of `limiter.check`. */
export interface CheckOptions {
  /** Units to consume (integer ≥ 0). `0` only reads. Default `1`. */
  cost?: number
}

/** A resolved limit, as the limiter uses it. */
export interface ResolvedLimit {
  readonly algorithm: Algorithm
  readonly limit: number
  readonly windowMs: number
}

/** A rate limiter. */
export interface RateLimiter {
  /** The resolved limits, in order. */
  readonly limits: readonly ResolvedLimit[]
  /** The store holding the state. */
  readonly store: Store
  /**
   * Checks `cost` against every limit for `key` and, only if all allow it, consumes it from all
   * (one atomic op; a rejection consumes nothing).
   * When the store is unavailable, the `onStoreError` policy decides (a degraded result carries
   * `degraded: true`).
   * @throws InvalidOptionsError naming `key` or `cost` when they are invalid.
   * @throws StoreTimeoutError / StoreUnavailableError (503) when the store is unavailable and
   * `onStoreError` is `'closed'`; any non-availability store error under every policy.
   */
  check(key: string, options?: CheckOptions): Promise<CheckResult>
  /**
   * Subscribes to the store's `degraded` (circuit opened) / `recovered` (probe succeeded) events
   * (same as `store.on`; a memory store never emits them). Returns an unsubscribe function.
   */
  on(event: StoreEvent, listener: (info: StoreEventInfo) => void): () => void
}

/** `limit × windowMs` must stay ≤ 2^52 so that all arithmetic is exact in Lua and JavaScript. */
const MAX_LIMIT_TIMES_WINDOW = 2 ** 52

/**
 * Creates a rate limiter. Options are validated here: a mistake throws `InvalidOptionsError` naming
 * the field (`limits`, `limits[0].limit`, `limits[1].algorithm`, `limits[0].window`, `prefix`, `store`,
 * `onStoreError`).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  const store = options.store ?? memoryStore()
  if (store === null || typeof store !== 'object' || typeof store.run !== 'function') {
    throw new InvalidOptionsError('store', 'must be a Store (memoryStore() or redisStore(client))')
  }
  const prefix = options.prefix ?? 'rl'
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new InvalidOptionsError('prefix', 'must be a non-empty string without `{` or `}`')
  }
  const onStoreError = options.onStoreError ?? 'memory'
  if (!STORE_ERROR_POLICIES.includes(onStoreError)) {
    throw new InvalidOptionsError(
      'onStoreError',
      `must be one of ${STORE_ERROR_POLICIES.map((p) => `'${p}'`).join(', ')}; got ${JSON.stringify(onStoreError) ?? String(onStoreError)}`
    )
  }
  const limits = resolveLimits(options.limits)
  const opLimits: readonly OpLimit[] = limits
  const parts = limitKeyParts(prefix, limits)
  let fallback: Store | undefined

  return Object.freeze({
    limits,
    store,
    async check(key: string, checkOptions: CheckOptions = {}): Promise<CheckResult> {
      if (typeof key !== 'string' || key.length === 0) {
        throw new InvalidOptionsError('key', 'must be a non-empty string')
      }
      if (checkOptions === null || typeof checkOptions !== 'object') {
        throw new InvalidOptionsError('options', 'must be an object')
      }
      const cost = checkOptions.cost ?? 1
      if (!Number.isSafeInteger(cost) || cost < 0) {
        throw new InvalidOptionsError('cost', `must be an integer >= 0; got ${String(cost)}`)
      }
      const keys = parts.map((part) => store.key(key, part))
      const input = { limits: opLimits, cost }
      try {
        return await store.run(checkOp, keys, input)
      } catch (error) {
        if (
          onStoreError === 'closed' ||
          !(error instanceof StoreTimeoutError || error instanceof StoreUnavailableError)
        ) {
          throw error
        }
        if (onStoreError === 'open') return openResult(limits)
        fallback ??= memoryStore()
        const local = await fallback.run(checkOp, keys, input)
        return { ...local, degraded: true, reason: 'store-error' }
      }
    },
    on(event: StoreEvent, listener: (info: StoreEventInfo) => void): () => void {
      return store.on(event, listener)
    },
  })
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
  input.forEach((raw: unknown, i) => {
    const field = `limits[${i}]`
    if (raw === null || typeof raw !== 'object') {
      throw new InvalidOptionsError(field, 'must be an object { algorithm?, limit, window }')
    }
    const l = raw as { algorithm?: unknown; limit?: unknown; window?: unknown }
    const algorithm = l.algorithm ?? 'gcra'
    if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm as Algorithm)) {
      throw new InvalidOptionsError(
        `${field}.algorithm`,
        `must be one of ${ALGORITHMS.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(algorithm) ?? String(algorithm)}`
      )
    }
    const limit = l.limit
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit <= 0) {
      throw new InvalidOptionsError(
        `${field}.limit`,
        `must be a positive integer; got ${String(limit)}`
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
  })
  return Object.freeze(out)
}
