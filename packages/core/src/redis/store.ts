/**
 * @module redis/store
 * `redisStore(client)`: the `Store` on the user's ioredis `Redis` or `Cluster` client.
 */
import type { Cluster, Redis } from 'ioredis'
import { encodeArgs } from '../store/define-op.js'
import { StoreTimeoutError, StoreUnavailableError } from '../store/errors.js'
import { assertSameSlot, formatKey } from '../store/keys.js'
import { createListeners } from '../store/listeners.js'
import { ttl } from '../store/ttl.js'
import type {
  AtomicOp,
  Store,
  StoreEvent,
  StoreEventInfo,
  StoreSetOptions,
} from '../store/types.js'
import { type BatchedEval, batchedEval } from './batch.js'
import { type CircuitBreaker, type CircuitState, circuitBreaker } from './breaker.js'
import { assertClient, type RedisStoreOptions, resolveOptions } from './options.js'
import { evalOp } from './scripts.js'
import { afterIo } from './timeout.js'

/** A `Store` backed by Redis. */
export interface RedisStore extends Store {
  readonly kind: 'redis'
  readonly local: false
  /** The circuit breaker's state (`closed` when the breaker is disabled). */
  readonly breakerState: CircuitState
}

/** Redis errors that mean "the server cannot serve now" rather than "this call is wrong". */
const UNAVAILABLE_REPLY =
  /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|OOM|MISCONF)\b/

/** Whether an error counts as a breaker failure: timeouts, connection errors, unavailability replies. */
export function isAvailabilityError(error: unknown): boolean {
  if (error instanceof StoreTimeoutError || error instanceof StoreUnavailableError) return true
  if (!(error instanceof Error)) return true
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLY.test(error.message)
  return true
}

/**
 * Creates a store on an ioredis client you own (`close()` does not disconnect it).
 *
 * Every op runs as one Lua script (EVALSHA, reloaded with EVAL on NOSCRIPT); keys built with
 * `store.key(tag, ...)` share the `{tag}` so ops work on Redis Cluster. Each call is bounded by
 * `commandTimeoutMs`, and a circuit breaker fails fast (`StoreUnavailableError`) after repeated
 * failures, emitting `degraded` and, after a successful half-open probe, `recovered`.
 *
 * ioredis queues commands while disconnected (`enableOfflineQueue: true`) and retries them
 * (`maxRetriesPerRequest: 20`), so without a bound a call made during an outage could wait for a
 * long time. Our timeout bounds it either way, but a timed-out command is only abandoned, not
 * cancelled: ioredis may still send it when the connection comes back (a timed-out increment can
 * land later). Prefer a client created with `{ maxRetriesPerRequest: 1 }` (or
 * `enableOfflineQueue: false`) so abandoned commands do not pile up and replay.
 *
 * @param client - an ioredis `Redis` or `Cluster` instance.
 * @throws InvalidOptionsError naming the field when the client or an option is invalid.
 */
export function redisStore(client: Redis | Cluster, options: RedisStoreOptions = {}): RedisStore {
  assertClient(client)
  const { prefix, commandTimeoutMs, breaker: breakerOptions, batch } = resolveOptions(options)
  const batched: BatchedEval | undefined =
    batch && !isCluster(client) ? batchedEval(client) : undefined
  const listeners = createListeners<StoreEvent, StoreEventInfo>()
  const breaker: CircuitBreaker | undefined =
    breakerOptions === false
      ? undefined
      : circuitBreaker({
          ...breakerOptions,
          onOpen: ({ failures, error }) =>
            listeners.emit('degraded', { store: 'redis', reason: 'failures', failures, error }),
          onClose: ({ downMs }) =>
            listeners.emit('recovered', { store: 'redis', reason: 'probe-succeeded', downMs }),
        })
  let closed = false

  /**
   * One Redis command, bounded by `commandTimeoutMs` and counted by the breaker. Written without
   * async functions: one promise per call over the client's own (this wraps every command on the
   * hot path). The timeout's rejection waits one turn of the event loop after the timer, as
   * `withTimeout` explains; a reply after it is ignored (the breaker already counted the failure).
   */
  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) {
      return Promise.reject(
        new StoreUnavailableError('redis store is closed', { reason: 'closed' })
      )
    }
    let isProbe = false
    let pending: Promise<T>
    try {
      if (breaker !== undefined) isProbe = breaker.admit()
    } catch (error) {
      return Promise.reject(toStoreError(error, what))
    }
    try {
      pending = fn()
    } catch (error) {
      breaker?.failed(isProbe, error, isAvailabilityError)
      return Promise.reject(toStoreError(error, what))
    }
    return new Promise<T>((resolve, reject) => {
      let done = false
      const timer = Number.isFinite(commandTimeoutMs)
        ? setTimeout(
            () =>
              afterIo(() => {
                if (done) return
                done = true
                const error = new StoreTimeoutError(commandTimeoutMs, `redis ${what}`)
                breaker?.failed(isProbe, error, isAvailabilityError)
                reject(error)
              }),
            commandTimeoutMs
          )
        : undefined
      pending.then(
        (value) => {
          if (timer !== undefined) clearTimeout(timer)
          if (done) return
          done = true
          breaker?.succeeded(isProbe)
          resolve(value)
        },
        (error: unknown) => {
          if (timer !== undefined) clearTimeout(timer)
          if (done) return
          done = true
          breaker?.failed(isProbe, error, isAvailabilityError)
          reject(toStoreError(error, what))
        }
      )
    })
  }

  return {
    kind: 'redis',
    local: false,
    get breakerState() {
      return breaker?.state ?? 'closed'
    },
    get(key) {
      return call('GET', () => client.get(key)).then(nullToUndefined)
    },
    async set(key, value, setOptions?: StoreSetOptions) {
      const px = setOptions?.ttlMs === undefined ? undefined : ttl(setOptions.ttlMs)
      await call('SET', () =>
        px === undefined ? client.set(key, value) : client.set(key, value, 'PX', px)
      )
    },
    async delete(key) {
      return (await call('DEL', () => client.del(key))) > 0
    },
    async run<I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I): Promise<O> {
      assertSameSlot(keys)
      const argv = encodeArgs(op, input)
      const reply = await call(`op ${op.name}`, () =>
        batched ? batched(op, keys, argv) : evalOp(client, op, keys, argv)
      )
      return op.decode(reply)
    },
    key(tag, ...parts) {
      return formatKey(prefix, tag, parts)
    },
    on(event, listener) {
      return listeners.on(event, listener)
    },
    async close() {
      closed = true
      listeners.clear()
    },
  }
}

function nullToUndefined(value: string | null): string | undefined {
  return value ?? undefined
}

/** ioredis marks its Cluster client with `isCluster: true`. */
function isCluster(client: Redis | Cluster): boolean {
  return (client as { isCluster?: unknown }).isCluster === true
}

/** Timeouts and circuit-open errors pass through; other availability errors become StoreUnavailableError. */
function toStoreError(error: unknown, what: string): unknown {
  if (error instanceof StoreTimeoutError || error instanceof StoreUnavailableError) return error
  if (!isAvailabilityError(error)) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StoreUnavailableError(`redis ${what} failed: ${message}`, {
    reason: 'connection',
    cause: error,
  })
}
