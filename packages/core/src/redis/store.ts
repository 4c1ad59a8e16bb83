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
import { serverClock } from './clock.js'
import { monotonicNow } from './monotonic.js'
import { assertClient, type RedisStoreOptions, resolveOptions } from './options.js'
import { evalOp } from './scripts.js'
import { deadlines, withTimeout } from './timeout.js'

/** A `Store` backed by Redis. */
export interface RedisStore extends Store {
  readonly kind: 'redis'
  readonly local: false
  /** The circuit breaker's state (`closed` when the breaker is disabled). */
  readonly breakerState: CircuitState
  /**
   * The server's clock now (epoch ms): this process's clock plus its offset to the server's
   * `TIME`, measured by one `TIME` in the background at most once a minute (not until the first
   * read; 0 until that measurement answers).
   */
  now(): number
}

/** Redis errors that mean "the server cannot serve now" rather than "this call is wrong". */
const UNAVAILABLE_REPLY =
  /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|OOM|MISCONF)\b/

/**
 * The replies of a server that refuses writes but still answers reads (out of memory, a replica,
 * too few replicas, a failed snapshot): while it gives them, a read that succeeds proves nothing.
 */
const WRITE_REFUSAL = /^(READONLY|NOREPLICAS|OOM|MISCONF)\b/

function isWriteRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && WRITE_REFUSAL.test(error.message)
}

/** Given to the breaker for a half-open probe that was a read while writes were refused. */
const READS_ONLY = new StoreUnavailableError('redis answers reads but refuses writes', {
  reason: 'unavailable',
})

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
  const {
    prefix,
    commandTimeoutMs,
    breaker: breakerOptions,
    batch,
    coalesceWrites,
  } = resolveOptions(options)
  const coalesce = coalesceWrites ? writeCoalescer(client) : undefined
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
   * Set by a write refused with OOM / READONLY / NOREPLICAS / MISCONF, cleared by a SET or script
   * that succeeds (the app's, or the store's own: `checkWrites`, `probeWrites`). Meanwhile reads
   * (GET, TIME), DEL (which such a server still serves) and error
   * replies that say the server answered (WRONGTYPE, a script's own error) neither reset the
   * failure count nor close the circuit: the store stays degraded, with one `degraded` event, for
   * as long as writes are refused, instead of a `recovered` after every successful read and a
   * `degraded` after the next writes. The half-open probe is then a write of the store's own
   * (`probeWrites`), whatever call is admitted as the probe: app traffic that reads before it
   * writes, or a script that happened only to read, cannot decide it.
   */
  let refusingWrites = false
  /** The key the write probe sets (briefly): one per prefix, in a slot of its own. */
  const probeKey = formatKey(prefix, 'aikit', ['write-probe'])
  const openMs = breakerOptions === false ? 0 : breakerOptions.openMs
  /** No write check before this time (monotonic ms): `openMs` after a refusal or a check. */
  let nextWriteCheck = 0
  let checkingWrites = false
  /**
   * Calls answered so far. A call records it when it starts; when it times out and another call
   * was answered meanwhile, its timeout is not counted by the breaker (see `overtaken`).
   */
  let answered = 0
  /**
   * Timeouts of calls that another call's answer overtook while they waited. The breaker counts
   * consecutive failures, but a timeout completes `commandTimeoutMs` after its call started: under
   * concurrent traffic the calls to one hung Cluster master all time out together, after the
   * other masters' answers, and would read as a run of consecutive failures that opens the
   * circuit for the whole Cluster (the healthy masters' slots failing fast too). Not counted, not
   * a success either: the calls to that master keep timing out, the others are served, and a
   * Cluster that is down (every call failing, CLUSTERDOWN) still opens the circuit.
   */
  const overtaken = new WeakSet<object>()
  const timedOut = (what: string, mark: number): StoreTimeoutError => {
    const error = new StoreTimeoutError(commandTimeoutMs, `redis ${what}`)
    if (mark !== answered) overtaken.add(error)
    return error
  }
  const failed = (isProbe: boolean, error: unknown): void => {
    if (!isProbe && overtaken.has(error as object)) return
    if (isWriteRefusal(error)) {
      refusingWrites = true
      nextWriteCheck = monotonicNow() + openMs
    } else if (!isAvailabilityError(error)) {
      answered++
      if (refusingWrites) {
        // The server answered, but not to a write: no proof either way.
        if (isProbe) breaker?.failed(true, READS_ONLY)
        return
      }
    }
    breaker?.failed(isProbe, error, isAvailabilityError)
  }
  const succeeded = (isProbe: boolean, provesWrites: boolean): void => {
    answered++
    if (provesWrites) refusingWrites = false
    else if (refusingWrites) {
      // The probe ran and proved nothing: another `openMs` before the next one.
      if (isProbe) breaker?.failed(true, READS_ONLY)
      else checkWrites()
      return
    }
    breaker?.succeeded(isProbe)
  }
  /**
   * While only reads come after a refused write (a cache whose entries are all there), no write of
   * the app's can clear `refusingWrites`: it would stay set for good, and every later failure,
   * however far apart and however many reads succeeded between, would add up until the circuit
   * opened on a healthy Redis. So a successful read then sends a short SET of the store's own, at
   * most once per `openMs` and not before `openMs` after the last refusal; it clears the state
   * (and the failure count) when Redis takes it. Its refusal or timeout counts for nothing: the
   * app asked for no write, and its reads are served.
   */
  const checkWrites = (): void => {
    if (checkingWrites || breaker?.state !== 'closed') return
    const at = monotonicNow()
    if (at < nextWriteCheck) return
    nextWriteCheck = at + openMs
    checkingWrites = true
    let sent: Promise<unknown>
    try {
      sent = withTimeout(client.set(probeKey, '1', 'PX', 1000), commandTimeoutMs)
    } catch {
      checkingWrites = false
      return
    }
    sent.then(
      () => {
        checkingWrites = false
        if (!refusingWrites) return
        refusingWrites = false
        breaker?.succeeded(false)
      },
      () => {
        checkingWrites = false
      }
    )
  }
  /**
   * The half-open probe while writes were refused: a short-lived SET, bounded like any call. It
   * closes the circuit when Redis takes it (then the admitted call runs as a normal one), and
   * keeps it open for another `openMs` when not.
   */
  const probeWrites = (what: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const state = new PendingCall(`${what} (write probe)`, true, reject)
      calls?.add(state)
      let sent: Promise<unknown>
      try {
        sent = client.set(probeKey, '1', 'PX', 1000)
      } catch (error) {
        state.done = true
        calls?.drop()
        failed(true, error)
        reject(toStoreError(error, what))
        return
      }
      sent.then(
        () => {
          if (state.done) return
          state.done = true
          calls?.drop()
          succeeded(true, true)
          resolve()
        },
        (error: unknown) => {
          if (state.done) return
          state.done = true
          calls?.drop()
          failed(true, error)
          reject(toStoreError(error, what))
        }
      )
    })

  /**
   * One Redis command, bounded by `commandTimeoutMs` and counted by the breaker. Written without
   * async functions: one promise per call over the client's own (this wraps every command on the
   * hot path). The timeout is one shared timer (`deadlines`), not one per call; its rejection
   * waits one turn of the event loop, as `withTimeout` explains; a reply after it is ignored (the
   * breaker already counted the failure).
   */
  const calls = Number.isFinite(commandTimeoutMs)
    ? deadlines<PendingCall>(commandTimeoutMs, isCallSettled, (pending, mark) => {
        pending.done = true
        const error = timedOut(pending.what, mark)
        failed(pending.isProbe, error)
        pending.reject(error)
      })
    : undefined

  /**
   * `provesWrites`: a success of this call shows that Redis takes writes again (SET, scripts),
   * see `refusingWrites`.
   */
  const call = <T>(
    what: string,
    fn: () => Promise<T>,
    coalesceWrite = true,
    provesWrites = false
  ): Promise<T> => {
    if (closed) return Promise.reject(closedError())
    let isProbe = false
    let pending: Promise<T>
    try {
      if (breaker !== undefined) isProbe = breaker.admit()
    } catch (error) {
      return Promise.reject(toStoreError(error, what))
    }
    if (isProbe && refusingWrites) {
      return probeWrites(what).then(() => call(what, fn, coalesceWrite, provesWrites))
    }
    try {
      if (coalesceWrite) coalesce?.()
      pending = fn()
    } catch (error) {
      failed(isProbe, error)
      return Promise.reject(toStoreError(error, what))
    }
    return new Promise<T>((resolve, reject) => {
      const state = new PendingCall(what, isProbe, reject)
      calls?.add(state, answered)
      pending.then(
        (value) => {
          if (state.done) return
          state.done = true
          calls?.drop()
          succeeded(isProbe, provesWrites)
          resolve(value)
        },
        (error: unknown) => {
          if (state.done) return
          state.done = true
          calls?.drop()
          failed(isProbe, error)
          reject(toStoreError(error, what))
        }
      )
    })
  }

  /**
   * GET on the hot path of a plain `Redis` client: the store builds ioredis's own `Command` and
   * sends it with `sendCommand` (what `client.get` does, minus its argument shuffling), so it holds
   * the command and can time it out by rejecting it, as ioredis's `commandTimeout` does. The
   * caller then gets ONE promise derived from the client's, with shared handlers (no closures,
   * no timer, no promise of ours per call). `undefined` on a Cluster, with auto-pipelining, or on
   * a client without `sendCommand`: those take `call`.
   */
  const Command = commandClass(client)
  const commandOptions = (): CommandOptions => {
    const o = (client as { options?: ClientOptions }).options
    // ioredis defaults keyPrefix to '' (no prefix): the shared options object then does.
    if (!o?.keyPrefix && o?.showFriendlyErrorStack !== true) return UTF8
    return {
      replyEncoding: 'utf8',
      keyPrefix: o?.keyPrefix,
      errorStack: o?.showFriendlyErrorStack === true ? new Error() : undefined,
    }
  }
  const commands = Number.isFinite(commandTimeoutMs)
    ? deadlines<IoredisCommand>(commandTimeoutMs, isCommandSettled, (command, mark) =>
        command.reject(timedOut('GET', mark))
      )
    : undefined
  const getSucceeded = (value: unknown): string | undefined => {
    commands?.drop()
    answered++
    if (!refusingWrites) breaker?.succeeded(false)
    else checkWrites()
    return (value as string | null) ?? undefined
  }
  const getFailed = (error: unknown): never => {
    commands?.drop()
    failed(false, error)
    throw toStoreError(error, 'GET')
  }
  const probeGetSucceeded = (value: unknown): string | undefined => {
    commands?.drop()
    succeeded(true, false)
    return (value as string | null) ?? undefined
  }
  const probeGetFailed = (error: unknown): never => {
    commands?.drop()
    failed(true, error)
    throw toStoreError(error, 'GET')
  }
  const sendGet = (key: string, Cmd: IoredisCommandClass): Promise<string | undefined> => {
    if (closed) return Promise.reject(closedError())
    let isProbe = false
    try {
      if (breaker !== undefined) isProbe = breaker.admit()
    } catch (error) {
      return Promise.reject(toStoreError(error, 'GET'))
    }
    if (isProbe && refusingWrites) return probeWrites('GET').then(() => sendGet(key, Cmd))
    let command: IoredisCommand
    try {
      coalesce?.()
      command = new Cmd('get', [key], commandOptions())
      ;(client as unknown as { sendCommand(c: IoredisCommand): unknown }).sendCommand(command)
    } catch (error) {
      failed(isProbe, error)
      return Promise.reject(toStoreError(error, 'GET'))
    }
    commands?.add(command, answered)
    return isProbe
      ? command.promise.then(probeGetSucceeded, probeGetFailed)
      : command.promise.then(getSucceeded, getFailed)
  }

  const clock = serverClock(
    () => call('TIME', () => client.time()),
    () => closed
  )

  return {
    kind: 'redis',
    local: false,
    now: () => clock.now(),
    get breakerState() {
      return breaker?.state ?? 'closed'
    },
    get(key) {
      if (Command !== undefined) return sendGet(key, Command)
      return call('GET', () => client.get(key)).then(nullToUndefined)
    },
    async set(key, value, setOptions?: StoreSetOptions) {
      const px = setOptions?.ttlMs === undefined ? undefined : ttl(setOptions.ttlMs)
      await call(
        'SET',
        () => (px === undefined ? client.set(key, value) : client.set(key, value, 'PX', px)),
        true,
        true
      )
    },
    async delete(key) {
      return (await call('DEL', () => client.del(key))) > 0
    },
    async run<I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I): Promise<O> {
      assertSameSlot(keys)
      const argv = encodeArgs(op, input)
      // Scripts are written as they come, not coalesced: each costs Redis enough CPU that sending
      // a turn's worth together makes client and server take turns instead of overlapping.
      const reply = await call(
        `op ${op.name}`,
        () => (batched ? batched(op, keys, argv) : evalOp(client, op, keys, argv)),
        false,
        true
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

/** The part of an ioredis client's socket the write coalescer uses. */
interface Corkable {
  cork(): void
  uncork(): void
}

const nextTick: ((fn: () => void) => void) | undefined =
  typeof process !== 'undefined' && typeof process.nextTick === 'function'
    ? (fn) => process.nextTick(fn)
    : undefined

/**
 * `coalesceWrites`: a function to call before each command; the first call of a turn corks the
 * client's socket and schedules the uncork after the turn's microtasks (when every continuation of
 * the replies just read has sent its next command). `undefined` when the client has no socket of
 * its own to cork (a Cluster) or outside Node.
 */
function writeCoalescer(client: Redis | Cluster): (() => void) | undefined {
  if (nextTick === undefined || isCluster(client)) return undefined
  const redis = client as unknown as { status?: string; stream?: Partial<Corkable> }
  let corked: Corkable | undefined
  const uncork = (): void => {
    const stream = corked
    corked = undefined
    stream?.uncork()
  }
  return () => {
    if (corked !== undefined) return
    const stream = redis.stream
    // Only a connected socket: while (re)connecting, ioredis queues commands without writing.
    if (redis.status !== 'ready' || typeof stream?.cork !== 'function') return
    if (typeof stream.uncork !== 'function') return
    corked = stream as Corkable
    corked.cork()
    nextTick(uncork)
  }
}

/** One `call` in flight: what the shared timeout needs to expire it. */
class PendingCall {
  done = false
  constructor(
    readonly what: string,
    readonly isProbe: boolean,
    readonly reject: (error: unknown) => void
  ) {}
}

function isCallSettled(pending: PendingCall): boolean {
  return pending.done
}

/** The part of an ioredis `Command` the GET path uses (public API: `new Redis.Command(...)`). */
interface IoredisCommand {
  readonly promise: Promise<unknown>
  /** ioredis 6 sets `isSettled` on resolve and reject; 5 sets `isResolved` on resolve only. */
  readonly isSettled?: boolean
  readonly isResolved?: boolean
  reject(error: unknown): void
}
type IoredisCommandClass = new (
  name: string,
  args: string[],
  options: CommandOptions
) => IoredisCommand
interface CommandOptions {
  replyEncoding: 'utf8'
  keyPrefix?: unknown
  errorStack?: Error | undefined
}
interface ClientOptions {
  keyPrefix?: unknown
  showFriendlyErrorStack?: boolean
  enableAutoPipelining?: boolean
}
const UTF8: CommandOptions = Object.freeze({ replyEncoding: 'utf8' })

function isCommandSettled(command: IoredisCommand): boolean {
  return command.isSettled === true || command.isResolved === true
}

/**
 * ioredis's `Command` class when `client` is a plain `Redis` client that sends one command per
 * call. ioredis exposes it as `Redis.Command`, but an instance cannot reach it (its prototype's
 * `constructor` is EventEmitter's, copied by a mixin) and this module does not import ioredis, so
 * it is read off a command the client's own `get` builds, handed to a stand-in `sendCommand` that
 * sends nothing. `undefined` (the store then uses `client.get`) when anything looks different.
 */
function commandClass(client: Redis | Cluster): IoredisCommandClass | undefined {
  if (isCluster(client)) return undefined
  const options = (client as { options?: ClientOptions }).options
  if (options === undefined || options.enableAutoPipelining === true) return undefined
  if (typeof (client as { sendCommand?: unknown }).sendCommand !== 'function') return undefined
  let Cmd: unknown
  try {
    const standIn = {
      options: {},
      sendCommand(command: { constructor?: unknown; promise?: unknown }) {
        Cmd = command?.constructor
        return command?.promise
      },
    }
    ;(client.get as (this: unknown, key: string) => unknown).call(standIn, 'aikit:probe')
  } catch {
    return undefined
  }
  if (typeof Cmd !== 'function') return undefined
  const proto = (Cmd as { prototype?: Record<string, unknown> }).prototype
  return typeof proto?.toWritable === 'function' && typeof proto.setReplyContext === 'function'
    ? (Cmd as IoredisCommandClass)
    : undefined
}

function closedError(): StoreUnavailableError {
  return new StoreUnavailableError('redis store is closed', { reason: 'closed' })
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
