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
import { keySlot } from './slot.js'
import { deadlines, withTimeout } from './timeout.js'

/** A `Store` backed by Redis. */
export interface RedisStore extends Store {
  readonly kind: 'redis'
  readonly local: false
  /** The circuit breaker's state (`closed` when the breaker is disabled). */
  readonly breakerState: CircuitState
  /**
   * The server's clock now (epoch ms): the server's `TIME` at its last measurement plus the
   * elapsed time since (monotonic, so a step of this machine's wall clock does not shift it),
   * measured by one `TIME` in the background at most once a minute (not until the first read;
   * this process's clock until that measurement answers: see `clockReady`).
   */
  now(): number
  /**
   * Resolves (never rejects) with `true` once a `TIME` has answered (at once from then on): `now()`
   * is on the server's clock. `false` when it settled without one (Redis unreachable): `now()` is
   * still this process's clock. While unmeasured, each call waits for the measurement that is out
   * (bounded by `commandTimeoutMs`), sending one if none is and the client is connected with its
   * circuit closed (or the last failed 5 s ago or more), else resolves `false` at once. Once its
   * clock has been read, the store also measures again each time the client (re)connects (its
   * `ready` event) and when its circuit closes.
   */
  clockReady(): Promise<boolean>
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
  let closed = false
  const openMs = breakerOptions === false ? 0 : breakerOptions.openMs
  /** The key the store's own write test targets until a refused write names one (see `Health`). */
  const defaultWriteKey = formatKey(prefix, 'aikit', ['write-probe'])
  /**
   * Servers whose circuit is open, and since when the first opened: the store emits `degraded`
   * when the first opens and `recovered` when the last closes (one Redis: its own breaker's).
   */
  let openServers = 0
  let degradedSince = 0
  const serverClosed = (node: string | undefined, reason: string): void => {
    if (--openServers > 0) return
    // Redis answers again (the TIME on reconnect may have met the open circuit): measure now.
    clock.connected()
    listeners.emit('recovered', {
      store: 'redis',
      reason,
      downMs: monotonicNow() - degradedSince,
      ...(node === undefined ? {} : { node }),
    })
  }
  const newHealth = (node: string | undefined): Health => {
    const health = new Health(node, defaultWriteKey)
    if (breakerOptions !== false) {
      health.breaker = circuitBreaker({
        ...breakerOptions,
        onOpen: ({ failures, error }) => {
          if (health.gone || openServers++ > 0) return
          degradedSince = monotonicNow()
          listeners.emit('degraded', {
            store: 'redis',
            reason: 'failures',
            failures,
            error,
            ...(node === undefined ? {} : { node }),
          })
        },
        onClose: () => {
          if (!health.gone) serverClosed(node, 'probe-succeeded')
        },
      })
    }
    return health
  }
  /** The health of a plain client, or of the Cluster calls whose master is not known (TIME). */
  const single = newHealth(undefined)
  /**
   * A Cluster's servers, each with a breaker of its own: the masters by `host:port`, and, when the
   * client spreads reads over replicas (`scaleReads`), the servers a slot's reads may go to (see
   * `serverOf`).
   */
  const servers = new Map<string, Health>()
  const clustered = isCluster(client)
  const readsFrom = clustered ? readTarget(client) : 'master'
  let nextSweep = 0
  /**
   * A master whose slots moved to another node (a replica promoted after it died) gets no more
   * calls, so no probe would ever close its circuit: the store would stay degraded for good (so
   * would a read group whose failed replica left the table). While degraded, at most once per
   * `openMs`, the servers the client's slot table no longer names are forgotten, an open one with
   * `recovered` (reason `failover`) if it was the last.
   */
  const forgetReplacedServers = (): void => {
    const at = monotonicNow()
    if (at < nextSweep) return
    nextSweep = at + Math.max(openMs, 100)
    // ioredis re-reads the slot table on MOVED, CLUSTERDOWN or a closed connection only: a hung
    // master gives none (its connection stays open), so the store asks for it (seen next sweep).
    refreshSlots(client)
    const owners = slotServers(client, readsFrom)
    if (owners === undefined) return
    for (const [node, health] of servers) {
      if (owners.has(node)) continue
      servers.delete(node)
      health.gone = true
      if (health.breaker !== undefined && health.breaker.state !== 'closed') {
        serverClosed(node, 'failover')
      }
    }
  }
  /** `read`: a call the client may send to a replica (GET), see `serverOf`. */
  const healthOf = (key: string | undefined, read: boolean): Health => {
    if (!clustered || key === undefined) return single
    if (openServers > 0) forgetReplacedServers()
    const node = serverOf(client, key, read ? readsFrom : 'master')
    // Before the client knows its slots (at start, or the whole Cluster unreachable) the calls
    // share `single`; once it knows them, its half-open probe is the next call, wherever it goes.
    if (node === undefined || (openServers > 0 && single.breaker?.state === 'half-open')) {
      return single
    }
    let health = servers.get(node)
    if (health === undefined) {
      // Failovers add masters; the ones with nothing to remember make room.
      if (servers.size >= MAX_SERVERS) forgetHealthy(servers)
      health = newHealth(node)
      servers.set(node, health)
    }
    return health
  }

  /**
   * Timeouts of calls that another call's answer (from the same server) overtook while they
   * waited: not counted by the breaker, nor counted as a success. A call that times out while the
   * server answers others (one slow script, a `CLIENT PAUSE WRITE` while reads are served) does
   * not show the server down; the calls that keep timing out each wait `commandTimeoutMs`, and
   * each component's policy applies.
   */
  const overtaken = new WeakSet<object>()
  const timedOut = (health: Health, what: string, mark: number): StoreTimeoutError => {
    const error = new StoreTimeoutError(commandTimeoutMs, `redis ${what}`)
    if (mark !== health.answered) overtaken.add(error)
    return error
  }
  /** `writeKey`: the key of the call (a refusal says it was a write), for the write test. */
  const failed = (health: Health, isProbe: boolean, error: unknown, writeKey?: string): void => {
    if (!isProbe && overtaken.has(error as object)) return
    if (isWriteRefusal(error)) {
      health.refusingWrites = true
      if (writeKey !== undefined) health.writeKey = writeKey
      health.nextWriteCheck = monotonicNow() + openMs
    } else if (!isAvailabilityError(error)) {
      health.answered++
      if (health.refusingWrites) {
        // The server answered, but not to a write: no proof either way.
        if (isProbe) health.breaker?.failed(true, READS_ONLY)
        return
      }
    }
    health.breaker?.failed(isProbe, error, isAvailabilityError)
  }
  const succeeded = (health: Health, isProbe: boolean, provesWrites: boolean): void => {
    health.answered++
    if (provesWrites) health.refusingWrites = false
    else if (health.refusingWrites) {
      // The probe ran and proved nothing: another `openMs` before the next one.
      if (isProbe) health.breaker?.failed(true, READS_ONLY)
      else checkWrites(health)
      return
    }
    health.breaker?.succeeded(isProbe)
  }
  /**
   * While only reads come after a refused write (a cache whose entries are all there), no write of
   * the app's can clear `refusingWrites`: it would stay set for good, and every later failure,
   * however far apart and however many reads succeeded between, would add up until the circuit
   * opened on a healthy Redis. So a successful read then sends the store's own write test
   * (`testWrite`), at most once per `openMs` and not before `openMs` after the last refusal; it
   * clears the state (and the failure count) unless Redis refuses it. A timeout or a refusal
   * counts for nothing: the app asked for no write, and its reads are served.
   */
  const checkWrites = (health: Health): void => {
    if (closed || health.checkingWrites || health.breaker?.state !== 'closed') return
    const at = monotonicNow()
    if (at < health.nextWriteCheck) return
    health.nextWriteCheck = at + openMs
    health.checkingWrites = true
    let sent: Promise<unknown>
    try {
      sent = withTimeout(testWrite(client, health.writeKey), commandTimeoutMs)
    } catch {
      health.checkingWrites = false
      return
    }
    const writesTaken = (): void => {
      health.checkingWrites = false
      if (closed || !health.refusingWrites) return
      health.refusingWrites = false
      health.breaker?.succeeded(false)
    }
    sent.then(writesTaken, (error: unknown) => {
      if (answeredNotRefused(error)) writesTaken()
      else health.checkingWrites = false
    })
  }
  /**
   * The half-open probe while writes were refused: the store's own write test, bounded like any
   * call. It closes the circuit unless Redis refuses it or does not answer (then the admitted call
   * runs as a normal one), and keeps it open for another `openMs` when it does.
   */
  const probeWrites = (health: Health, what: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const state = new PendingCall(`${what} (write probe)`, true, reject, health)
      calls?.add(state)
      const passed = (): void => {
        state.done = true
        calls?.drop()
        succeeded(health, true, true)
        resolve()
      }
      const refused = (error: unknown): void => {
        state.done = true
        calls?.drop()
        failed(health, true, error)
        reject(toStoreError(error, what))
      }
      let sent: Promise<unknown>
      try {
        sent = testWrite(client, health.writeKey)
      } catch (error) {
        refused(error)
        return
      }
      sent.then(
        () => {
          if (!state.done) passed()
        },
        (error: unknown) => {
          if (state.done) return
          if (answeredNotRefused(error)) passed()
          else refused(error)
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
        const error = timedOut(pending.health, pending.what, mark)
        failed(pending.health, pending.isProbe, error)
        pending.reject(error)
      })
    : undefined

  /**
   * `key`: the (first) key the command touches, which tells a Cluster's master; `undefined` for
   * TIME. `write`: whether it is a write (SET, script), whose success shows that Redis takes writes
   * again, see `Health.refusingWrites`.
   */
  const call = <T>(
    what: string,
    fn: () => Promise<T>,
    key: string | undefined,
    coalesceWrite = true,
    write = false,
    read = false
  ): Promise<T> => {
    if (closed) return Promise.reject(closedError())
    const health = healthOf(key, read)
    let isProbe = false
    let pending: Promise<T>
    try {
      if (health.breaker !== undefined) isProbe = health.breaker.admit()
    } catch (error) {
      return Promise.reject(toStoreError(error, what))
    }
    if (isProbe && health.refusingWrites) {
      return probeWrites(health, what).then(() => call(what, fn, key, coalesceWrite, write, read))
    }
    // Only writes are refused (DEL too, by a replica or for want of replicas): the refused
    // call's key is the one the write test then targets.
    try {
      if (coalesceWrite) coalesce?.()
      pending = fn()
    } catch (error) {
      failed(health, isProbe, error, key)
      return Promise.reject(toStoreError(error, what))
    }
    return new Promise<T>((resolve, reject) => {
      const state = new PendingCall(what, isProbe, reject, health)
      calls?.add(state, health.answered)
      pending.then(
        (value) => {
          if (state.done) return
          state.done = true
          calls?.drop()
          succeeded(health, isProbe, write)
          resolve(value)
        },
        (error: unknown) => {
          if (state.done) return
          state.done = true
          calls?.drop()
          failed(health, isProbe, error, key)
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
        command.reject(timedOut(single, 'GET', mark))
      )
    : undefined
  const getSucceeded = (value: unknown): string | undefined => {
    commands?.drop()
    single.answered++
    if (!single.refusingWrites) single.breaker?.succeeded(false)
    else checkWrites(single)
    return (value as string | null) ?? undefined
  }
  const getFailed = (error: unknown): never => {
    commands?.drop()
    failed(single, false, error)
    throw toStoreError(error, 'GET')
  }
  const probeGetSucceeded = (value: unknown): string | undefined => {
    commands?.drop()
    succeeded(single, true, false)
    return (value as string | null) ?? undefined
  }
  const probeGetFailed = (error: unknown): never => {
    commands?.drop()
    failed(single, true, error)
    throw toStoreError(error, 'GET')
  }
  const sendGet = (key: string, Cmd: IoredisCommandClass): Promise<string | undefined> => {
    if (closed) return Promise.reject(closedError())
    let isProbe = false
    try {
      if (single.breaker !== undefined) isProbe = single.breaker.admit()
    } catch (error) {
      return Promise.reject(toStoreError(error, 'GET'))
    }
    if (isProbe && single.refusingWrites) {
      return probeWrites(single, 'GET').then(() => sendGet(key, Cmd))
    }
    let command: IoredisCommand
    try {
      coalesce?.()
      command = new Cmd('get', [key], commandOptions())
      ;(client as unknown as { sendCommand(c: IoredisCommand): unknown }).sendCommand(command)
    } catch (error) {
      failed(single, isProbe, error)
      return Promise.reject(toStoreError(error, 'GET'))
    }
    commands?.add(command, single.answered)
    return isProbe
      ? command.promise.then(probeGetSucceeded, probeGetFailed)
      : command.promise.then(getSucceeded, getFailed)
  }

  // A measurement sent at once (on reconnect, or by `clockReady` while connected) waits for the
  // circuit to be closed: it must not take the half-open probe from the application's calls (the
  // circuit closing measures it, see `serverClosed`).
  const circuitClosed = (): boolean => (single.breaker?.state ?? 'closed') === 'closed'
  const clock = serverClock(
    () => call('TIME', () => client.time(), undefined),
    () => closed,
    () => (client as { status?: unknown }).status === 'ready' && circuitClosed()
  )
  // Measured again on every (re)connect: a store created while Redis was down would otherwise
  // stamp on this machine's clock until the retry delay is over, and the server may be another.
  const stopClockOnReady = onClientReady(client, () => {
    if (circuitClosed()) clock.connected()
  })

  return {
    kind: 'redis',
    local: false,
    now: () => clock.now(),
    clockReady: () => clock.ready(),
    get breakerState() {
      return worstState(single, servers)
    },
    get(key) {
      if (Command !== undefined) return sendGet(key, Command)
      return call('GET', () => client.get(key), key, true, false, true).then(nullToUndefined)
    },
    async set(key, value, setOptions?: StoreSetOptions) {
      const px = setOptions?.ttlMs === undefined ? undefined : ttl(setOptions.ttlMs)
      await call(
        'SET',
        () => (px === undefined ? client.set(key, value) : client.set(key, value, 'PX', px)),
        key,
        true,
        true
      )
    },
    async delete(key) {
      return (await call('DEL', () => client.del(key), key)) > 0
    },
    async run<I, O>(op: AtomicOp<I, O>, keys: readonly string[], input: I): Promise<O> {
      assertSameSlot(keys)
      const argv = encodeArgs(op, input)
      // Scripts are written as they come, not coalesced: each costs Redis enough CPU that sending
      // a turn's worth together makes client and server take turns instead of overlapping.
      const reply = await call(
        `op ${op.name}`,
        () => (batched ? batched(op, keys, argv) : evalOp(client, op, keys, argv)),
        keys[0],
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
      stopClockOnReady()
    },
  }
}

/**
 * Per client, what its stores run on its `ready` event: one listener per client however many stores
 * share it (one each would trip the emitter's max-listeners warning at the eleventh).
 */
const onReady = new WeakMap<object, Set<() => void>>()

/** Runs `fn` on each `ready` event of `client`; returns the function that stops it. */
function onClientReady(client: object, fn: () => void): () => void {
  const emitter = client as { on?: (event: string, listener: () => void) => unknown }
  if (typeof emitter.on !== 'function') return () => {}
  let fns = onReady.get(client)
  if (fns === undefined) {
    const set = new Set<() => void>()
    emitter.on('ready', () => {
      for (const f of set) f()
    })
    onReady.set(client, set)
    fns = set
  }
  const own = fns
  own.add(fn)
  return () => {
    own.delete(fn)
  }
}

/**
 * ioredis 6's failover detector (which a Sentinel client must have, see `assertClient`) can end
 * the client for good (status `end`, every command "Connection is closed.") when the sentinel's
 * `+switch-master` arrives while it is reconnecting, as it is after its master crashed: an outage
 * that would last until the process restarts. An end the app did not ask for (ioredis sets
 * `manuallyClosing` on `disconnect()` and `quit()`) is undone with `connect()`, which asks the
 * sentinels for the master again, while the store is open. Other clients are left alone.
 * Returns the function that stops it.
 */
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

/**
 * What the store knows of one server's health: a plain client's Redis, or one Cluster master (each
 * master has a breaker of its own, so one hung or gone master opens the circuit for its own slots
 * only, while the others are served).
 */
class Health {
  breaker: CircuitBreaker | undefined
  /**
   * Set by a write refused with OOM / READONLY / NOREPLICAS / MISCONF, cleared by a SET or script
   * that succeeds, or by the store's own write test (`checkWrites`, `probeWrites`). Meanwhile reads
   * (GET, TIME), DEL (which such a server still serves) and error replies that say the server
   * answered (WRONGTYPE, a script's own error) neither reset the failure count nor close the
   * circuit: the store stays degraded, with one `degraded` event, for as long as writes are
   * refused, instead of a `recovered` after every successful read and a `degraded` after the next
   * writes. The half-open probe is then the store's write test, whatever call is admitted as the
   * probe: app traffic that reads before it writes, or a script that happened only to read,
   * cannot decide it.
   */
  refusingWrites = false
  /** No write check before this time (monotonic ms): `openMs` after a refusal or a check. */
  nextWriteCheck = 0
  checkingWrites = false
  /**
   * Calls answered so far. A call records it when it starts; when it times out and another call
   * was answered meanwhile, its timeout is not counted by the breaker (see `overtaken`).
   */
  answered = 0
  /** A Cluster master no longer in the client's slot table: its breaker's events are ignored. */
  gone = false
  constructor(
    readonly node: string | undefined,
    /** The key the write test targets: the last refused write's (see `testWrite`). */
    public writeKey: string
  ) {}
}

/** Cluster servers the store keeps a breaker for before it forgets the healthy ones. */
const MAX_SERVERS = 256

function forgetHealthy(servers: Map<string, Health>): void {
  for (const [node, health] of servers) {
    if (health.breaker?.state === 'closed' && !health.refusingWrites && !health.checkingWrites) {
      servers.delete(node)
      // Its calls still in flight may trip its breaker: the store no longer counts it.
      health.gone = true
    }
  }
}

const STATE_RANK: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 }

/** The state of a plain client's breaker; on a Cluster the worst of its servers'. */
function worstState(single: Health, servers: Map<string, Health>): CircuitState {
  let state: CircuitState = single.breaker?.state ?? 'closed'
  for (const health of servers.values()) {
    const next = health.breaker?.state ?? 'closed'
    if (STATE_RANK[next] > STATE_RANK[state]) state = next
  }
  return state
}

/**
 * Where an ioredis Cluster client sends a read (its `scaleReads`): `'master'` (the default), or to
 * the slot's replicas (`'slave'`: a random one), or to any of the slot's servers (`'all'`, or a
 * function choosing one).
 */
type ReadTarget = 'master' | 'replicas' | 'any'

function readTarget(client: Redis | Cluster): ReadTarget {
  const scaleReads = (client as { options?: { scaleReads?: unknown } }).options?.scaleReads
  if (scaleReads === undefined || scaleReads === 'master') return 'master'
  return scaleReads === 'slave' ? 'replicas' : 'any'
}

/**
 * The server that serves `key` on a Cluster, from the client's own slot table (`slots[slot]`:
 * the master's `host:port`, then its replicas'); `undefined` until the client has one. A read
 * (`reads` other than `'master'`) the client may send to a replica: its server is then the group
 * the client picks from, named by their addresses joined with commas (the replicas, or all of the
 * slot's servers), with a breaker of its own. Were such reads counted as the master's, a replica's
 * answers would hide a hung master (its write timeouts "overtaken", its circuit never open) and a
 * hung replica's timeouts would open the circuit of a healthy master.
 */
function serverOf(client: Redis | Cluster, key: string, reads: ReadTarget): string | undefined {
  const slots = (client as { slots?: unknown }).slots
  if (!Array.isArray(slots) || slots.length === 0) return undefined
  const keyPrefix = (client as { options?: ClientOptions }).options?.keyPrefix
  const owners: unknown = slots[keySlot(typeof keyPrefix === 'string' ? keyPrefix + key : key)]
  return Array.isArray(owners) ? serverOfEntry(owners, reads) : undefined
}

/** `serverOf` for one slot table entry. */
function serverOfEntry(owners: unknown[], reads: ReadTarget): string | undefined {
  const master = owners[0]
  if (typeof master !== 'string') return undefined
  // ioredis sends a read to the master when the slot has no replica, whatever `scaleReads` says.
  if (reads === 'master' || owners.length < 2) return master
  return readGroup(owners, reads)
}

/**
 * A slot's read group, remembered per slot table entry (ioredis shares one array among the slots
 * of a range, and replaces it when it re-reads the table; a MOVED only rewrites its master, which
 * the check below sees): no string built per read.
 */
const readGroups = new WeakMap<unknown[], ReadGroup>()

interface ReadGroup {
  master: unknown
  length: number
  reads: ReadTarget
  group: string
}

function readGroup(owners: unknown[], reads: ReadTarget): string {
  const known = readGroups.get(owners)
  if (
    known !== undefined &&
    known.master === owners[0] &&
    known.length === owners.length &&
    known.reads === reads
  ) {
    return known.group
  }
  const group = (reads === 'replicas' ? owners.slice(1) : owners).map(String).join(',')
  readGroups.set(owners, { master: owners[0], length: owners.length, reads, group })
  return group
}

/** Asks an ioredis Cluster client to re-read its slot table (`CLUSTER SLOTS`), in the background. */
function refreshSlots(client: Redis | Cluster): void {
  const refresh = (client as { refreshSlotsCache?: unknown }).refreshSlotsCache
  if (typeof refresh !== 'function') return
  try {
    ;(refresh as (this: unknown, callback: () => void) => void).call(client, ignore)
  } catch {
    // A client that cannot refresh keeps its table: the next sweep tries again.
  }
}

function ignore(): void {}

/**
 * The servers the client's slot table names (masters, and read groups when reads are spread, see
 * `serverOf`), or `undefined` while it has none.
 */
function slotServers(client: Redis | Cluster, reads: ReadTarget): Set<string> | undefined {
  const slots = (client as { slots?: unknown }).slots
  if (!Array.isArray(slots) || slots.length === 0) return undefined
  const servers = new Set<string>()
  let previous: unknown
  for (const entry of slots as unknown[]) {
    // One array per slot range: each is looked at once.
    if (entry === previous || !Array.isArray(entry)) continue
    previous = entry
    const master = serverOfEntry(entry, 'master')
    if (master === undefined) continue
    servers.add(master)
    if (reads !== 'master') servers.add(serverOfEntry(entry, reads)!)
  }
  return servers.size === 0 ? undefined : servers
}

/**
 * The store's own write test: `SETRANGE key 0 ""`, a write command that changes nothing (an
 * empty range: no key is created, no value changes, nothing is replicated), so Redis refuses it
 * exactly as it refuses writes (OOM, READONLY, NOREPLICAS, MISCONF). It targets the key of the
 * last refused write (the same master on a Cluster, and a key an ACL user limited to the app's
 * keys may write), or `<prefix>:{aikit}:write-probe` before any.
 */
function testWrite(client: Redis | Cluster, key: string): Promise<unknown> {
  return client.setrange(key, 0, '')
}

/**
 * Whether the write test's error is an answer that does not refuse writes (NOPERM for an ACL user
 * without SETRANGE, WRONGTYPE): the store cannot test writes then, so it does not hold the circuit
 * open on that; a write of the app's that Redis still refuses opens it again.
 */
function answeredNotRefused(error: unknown): boolean {
  return !isWriteRefusal(error) && !isAvailabilityError(error)
}

/** One `call` in flight: what the shared timeout needs to expire it. */
class PendingCall {
  done = false
  constructor(
    readonly what: string,
    readonly isProbe: boolean,
    readonly reject: (error: unknown) => void,
    readonly health: Health
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
