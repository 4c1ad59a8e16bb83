/**
 * @module redis/options
 * Options of `redisStore` and their validation.
 */
import { rejectUnknownOptions } from '../known-options.js'
import { assertSentinelFailoverDetector } from '../sentinel-client.js'
import { InvalidOptionsError } from '../store/errors.js'
import { validatePrefix } from '../store/keys.js'
import { validateBreakerOptions } from './breaker.js'
import type { ScriptClient } from './scripts.js'

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** Prefix of every key built with `store.key()`; must not contain `{` or `}`. Default `'aikit'`. */
  prefix?: string
  /**
   * Upper bound for one store call (EVALSHA plus its EVAL fallback, or one GET/SET/DEL), in ms.
   * A call that takes longer rejects with `StoreTimeoutError` and counts as a breaker failure.
   * `Infinity` disables it. Default `50`.
   */
  commandTimeoutMs?: number
  /**
   * Circuit breaker settings, or `false` to disable it. Defaults:
   * `{ failureThreshold: 5, openMs: 500 }` (while open, one probe per `openMs` is one cheap
   * command; a longer pause only delays recovery).
   */
  breaker?: false | { failureThreshold?: number; openMs?: number }
  /**
   * Send calls of one op issued together as ONE script call (each call still atomic, with its own
   * result or error) instead of one command each. A call waits in its op's queue until the queue
   * holds a third of the calls waiting on the client (queued or sent and unanswered), or until the
   * end of the event-loop turn: a lone call goes at once as a plain EVALSHA, and N concurrent
   * callers keep about three script calls out, so Redis and this process work in parallel. Under
   * concurrency this is cheaper on both sides: rate-limit checks at concurrency 16 on a 2-core
   * machine took about 0.65x the client's CPU and 0.7x the server's per check of one EVALSHA each,
   * for about 1.2x rate-limiter-flexible's checks/s (0.9x at concurrency 4, 1.8x at 64;
   * `bench/ratelimit`). Each call gets exactly the reply its op's script gives it alone (a call
   * with more than 1024 keys plus arguments is sent alone; a `#!lua` flags line applies to the
   * batch, which holds that op's calls only). Ignored on a Cluster client (calls of different keys
   * live in different slots there). Default `true`.
   */
  batch?: boolean
  /**
   * Let the commands the store sends in one event-loop turn leave in ONE socket write: the
   * client's socket is corked at the first command and uncorked once the turn's callbacks and
   * microtasks are done (`process.nextTick`), so Node writes them together (`writev`). Each is
   * still its own command with its own reply, timeout and breaker count; only the syscalls are
   * shared, on both sides (the server also reads them in one go). Measured at concurrency 64 on
   * GETs: 0.66x the client's CPU and 0.28x the server's per command; a lone command goes out at the
   * end of its turn, as before. GET, SET and DEL only: script calls (`run`) are written as they
   * come, because a script costs Redis enough CPU that sending them together makes the client and
   * the server take turns instead of overlapping (rate-limit checks at concurrency 16 on an idle
   * 2-core machine: 0.55x rate-limiter-flexible coalesced, 0.95x not). Plain `Redis` clients only
   * (not Cluster). Default `true`.
   */
  coalesceWrites?: boolean
}

/** Validated options with defaults applied. */
export interface ResolvedRedisStoreOptions {
  prefix: string
  commandTimeoutMs: number
  breaker: false | { failureThreshold: number; openMs: number }
  batch: boolean
  coalesceWrites: boolean
}

const METHODS = ['evalsha', 'eval', 'get', 'set', 'del'] as const

/** Throws `InvalidOptionsError` naming the field unless `client` looks like an ioredis client. */
export function assertClient(client: unknown): asserts client is ScriptClient {
  if (client === null || typeof client !== 'object') {
    throw new InvalidOptionsError('client', 'must be an ioredis Redis or Cluster client')
  }
  for (const method of METHODS) {
    if (typeof (client as Record<string, unknown>)[method] !== 'function') {
      throw new InvalidOptionsError(
        'client',
        `must be an ioredis Redis or Cluster client (missing ${method}())`
      )
    }
  }
  assertSentinelFailoverDetector(client, 'client')
}

/**
 * The keys of `RedisStoreOptions` (and of its `breaker`): any other is refused. Records, not
 * lists, so the compiler flags a key added to the type and missing here.
 */
const REDIS_STORE_OPTION_KEYS = Object.keys({
  prefix: true,
  commandTimeoutMs: true,
  breaker: true,
  batch: true,
  coalesceWrites: true,
} satisfies Record<keyof RedisStoreOptions, true>)
const BREAKER_OPTION_KEYS = Object.keys({
  failureThreshold: true,
  openMs: true,
} satisfies Record<keyof Exclude<RedisStoreOptions['breaker'], false | undefined>, true>)

/** The longest delay a timer can wait (2^31 - 1 ms): Node fires a longer one after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647

/** Validates `redisStore` options and applies defaults. */
export function resolveOptions(options: RedisStoreOptions): ResolvedRedisStoreOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, REDIS_STORE_OPTION_KEYS)
  const prefix = validatePrefix(options.prefix ?? 'aikit')
  const commandTimeoutMs = options.commandTimeoutMs ?? 50
  if (
    typeof commandTimeoutMs !== 'number' ||
    Number.isNaN(commandTimeoutMs) ||
    commandTimeoutMs <= 0 ||
    (commandTimeoutMs > MAX_TIMER_MS && commandTimeoutMs !== Number.POSITIVE_INFINITY)
  ) {
    throw new InvalidOptionsError(
      'commandTimeoutMs',
      `must be a positive number of milliseconds, at most ${MAX_TIMER_MS} (the longest timer delay), or Infinity`
    )
  }
  if (options.breaker !== undefined && options.breaker !== false) {
    if (options.breaker === null || typeof options.breaker !== 'object') {
      throw new InvalidOptionsError('breaker', 'must be an object or false')
    }
    rejectUnknownOptions(options.breaker, BREAKER_OPTION_KEYS, 'breaker.')
  }
  const breaker =
    options.breaker === false ? false : validateBreakerOptions(options.breaker ?? {}, 'breaker.')
  const batch = options.batch ?? true
  if (typeof batch !== 'boolean') {
    throw new InvalidOptionsError('batch', 'must be a boolean')
  }
  const coalesceWrites = options.coalesceWrites ?? true
  if (typeof coalesceWrites !== 'boolean') {
    throw new InvalidOptionsError('coalesceWrites', 'must be a boolean')
  }
  return { prefix, commandTimeoutMs, breaker, batch, coalesceWrites }
}
