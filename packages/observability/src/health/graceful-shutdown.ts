/**
 * @module graceful-shutdown
 * `gracefulShutdown(server, { health })`: on SIGTERM, readiness fails first (the load balancer
 * stops sending traffic) and every response from then on says `Connection: close` (keep-alive
 * clients move off their connection instead of having it reset under them), then the server stops
 * accepting connections while in-flight requests and streamed answers finish, up to a deadline;
 * then remaining connections are cut and `onShutdown` runs (close Redis, flush logs and Sentry),
 * waited for up to the same deadline.
 */
import type { Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { constants as osConstants } from 'node:os'
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions, workDone } from '@aikit/core/adapter'
import type { HealthCheck } from './health-check.js'

/** Options of `gracefulShutdown`. */
export interface GracefulShutdownOptions {
  /** The `healthCheck()` whose readiness fails as soon as shutdown starts. Default none. */
  health?: HealthCheck
  /**
   * Wait between failing readiness and closing the server, so the load balancer notices first.
   * Set it to the readiness probe period on Kubernetes (e.g. `5000`). Default `0`.
   */
  delayMs?: number
  /**
   * Deadline for in-flight requests and streams once closing starts; then connections are cut.
   * A keep-alive connection that sits idle without having been told to close (its last response
   * went out before the shutdown began, e.g. a long stream) is closed by the server's own
   * `keepAliveTimeout` (Node's default 5 s) or by the client, else at this deadline. `onShutdown`
   * then gets up to `timeoutMs` too. Default `30000`.
   */
  timeoutMs?: number
  /**
   * Signals that start the shutdown. The same signal again (or another of these) while shutting
   * down is absorbed: the shutdown under way goes on. The listeners are removed once a
   * signal-triggered shutdown is over. `[]` for none (call `shutdown()` yourself). Default
   * `['SIGTERM', 'SIGINT']`.
   */
  signals?: readonly NodeJS.Signals[]
  /**
   * Runs after the server closed (close Redis clients, flush logs). Errors are swallowed; waited for
   * at most `timeoutMs`, then left behind (a `redis.quit()` during an outage would otherwise keep
   * the process alive until SIGKILL). Default none.
   */
  onShutdown?: () => unknown
  /**
   * After a signal-triggered shutdown, `process.exit(0)` (a handled SIGTERM otherwise keeps the
   * process alive as long as any timer or client is open), once every signal-triggered shutdown of
   * the process is over (several servers with `gracefulShutdown` each finish theirs first). Manual
   * `shutdown()` never exits. Default `true`.
   */
  exit?: boolean
}

/** The keys of `GracefulShutdownOptions`; any other key is refused. */
const GRACEFUL_SHUTDOWN_OPTION_KEYS = [
  'health',
  'delayMs',
  'timeoutMs',
  'signals',
  'onShutdown',
  'exit',
] as const satisfies readonly (keyof GracefulShutdownOptions)[]

/** What `gracefulShutdown` returns. */
export interface GracefulShutdown {
  /**
   * Starts (or joins) the shutdown; resolves once the server is closed and `onShutdown` ran (or had
   * `timeoutMs`).
   */
  shutdown(): Promise<void>
  /** Removes the signal listeners (a signal then has its default effect again). */
  dispose(): void
}

/** The server's parts `gracefulShutdown` uses (the event methods are optional, for stand-ins). */
type ClosableServer = Pick<Server, 'close' | 'closeIdleConnections' | 'closeAllConnections'> &
  Partial<Pick<Server, 'on' | 'off' | 'prependListener'>>

/** A socket as `node:http` decorates it: `_httpMessage` is the response being written on it. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null }

/** How long a connection that sent nothing yet may stay open once the server closes. */
const SILENT_GRACE_MS = 1_000

/** The longest the shutdown waits for the kit's work of cut requests (see `workDone`). */
const WORK_LIMIT_MS = 5_000

/** Signals a listener can be installed for: the platform's, minus the two no process can catch. */
const CATCHABLE_SIGNALS = new Set(
  Object.keys(osConstants.signals).filter((s) => s !== 'SIGKILL' && s !== 'SIGSTOP')
)

/** The signal-triggered shutdowns of the process, shared by every copy of this module. */
interface SignalledShutdowns {
  /** Those still under way. */
  pending: number
  /** Whether one that is over asked for `process.exit(0)`. */
  exit: boolean
}

const SIGNALLED = Symbol.for('@aikit/observability.signalled-shutdowns.v1')

function signalledShutdowns(): SignalledShutdowns {
  const g = globalThis as unknown as Record<symbol, SignalledShutdowns | undefined>
  let state = g[SIGNALLED]
  if (state === undefined) {
    state = { pending: 0, exit: false }
    g[SIGNALLED] = state
  }
  return state
}

/**
 * Runs `cleanup` and waits for it at most `ms`: a failure is swallowed and a hang left behind
 * (shutting down anyway: a cleanup must not keep the process alive).
 */
async function cleanupWithin(cleanup: () => unknown, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  const done = (async () => {
    await cleanup()
  })().catch(() => undefined)
  await Promise.race([done, late])
  clearTimeout(timer)
}

function validMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 3_600_000) {
    throw new InvalidOptionsError(field, 'must be an integer number of ms from 0 to 3600000')
  }
  return value
}

/** A response told to close, and what it said before (to take the close back). */
interface ToldToClose {
  readonly res: ServerResponse
  readonly keepAlive: boolean
  readonly connection: ReturnType<ServerResponse['getHeader']>
}

/**
 * Makes the response say `Connection: close` (when its head is not written yet): the client lets
 * go of the socket after it, and Node closes the socket once the response is sent.
 */
function tellToClose(res: ServerResponse): ToldToClose | undefined {
  if (res.headersSent) return undefined
  const told = { res, keepAlive: res.shouldKeepAlive, connection: res.getHeader('connection') }
  res.shouldKeepAlive = false
  res.setHeader('connection', 'close')
  return told
}

/** Takes back `tellToClose` from a response whose head is not written yet. */
function takeBackClose(told: ToldToClose): void {
  const { res } = told
  if (res.headersSent) return
  res.shouldKeepAlive = told.keepAlive
  if (told.connection === undefined) res.removeHeader('connection')
  else res.setHeader('connection', told.connection)
}

/**
 * Installs graceful shutdown on a `node:http`/`https` server (Fastify: `app.server`). Invalid
 * options throw `InvalidOptionsError` naming the field.
 */
export function gracefulShutdown(
  server: ClosableServer,
  options: GracefulShutdownOptions = {}
): GracefulShutdown {
  if (
    server === null ||
    typeof server !== 'object' ||
    typeof server.close !== 'function' ||
    typeof server.closeAllConnections !== 'function'
  ) {
    throw new InvalidOptionsError('server', 'must be a node:http or node:https Server')
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, GRACEFUL_SHUTDOWN_OPTION_KEYS)
  const { health, onShutdown, exit = true, signals = ['SIGTERM', 'SIGINT'] } = options
  const delayMs = validMs(options.delayMs ?? 0, 'delayMs')
  const timeoutMs = validMs(options.timeoutMs ?? 30_000, 'timeoutMs')
  if (health !== undefined && typeof health?.markShuttingDown !== 'function') {
    throw new InvalidOptionsError('health', 'must be the result of healthCheck()')
  }
  if (onShutdown !== undefined && typeof onShutdown !== 'function') {
    throw new InvalidOptionsError('onShutdown', 'must be a function')
  }
  if (typeof exit !== 'boolean') throw new InvalidOptionsError('exit', 'must be a boolean')
  if (
    !Array.isArray(signals) ||
    signals.some((s) => typeof s !== 'string' || !CATCHABLE_SIGNALS.has(s))
  ) {
    throw new InvalidOptionsError(
      'signals',
      "must be an array of signal names this platform can catch, like 'SIGTERM' (not SIGKILL or SIGSTOP)"
    )
  }

  // The connections, so that responses in flight when shutdown starts can say `Connection: close`
  // (connections accepted before this call are not known: install it at startup), and so that the
  // silent sweep and the deadline can cut them. Tracked until the server closed: it still accepts
  // connections during `delayMs`. The TLS socket of an https server carries its HTTP messages,
  // hence `secureConnection`.
  const sockets = new Set<HttpSocket>()
  const track = (socket: HttpSocket): void => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  server.on?.('connection', track)
  server.on?.('secureConnection', track)
  const untrack = (): void => {
    server.off?.('connection', track)
    server.off?.('secureConnection', track)
  }

  let running: Promise<void> | undefined

  /**
   * From the start of the shutdown, every response says `Connection: close`. Node keeps answering
   * `keep-alive` after `server.close()`, and a keep-alive client reuses its socket right after a
   * response: destroying an idle socket then resets the request the client is already sending (a
   * POST that may or may not have run, so it cannot be retried). Told to close, the client opens a
   * new connection instead (refused once the server stopped listening: never sent).
   */
  const sayClose = (): void => {
    // The last response of each connection told to close. A request pipelined behind it on the
    // same connection (HTTP/1.1 pipelining: both arrived before the first was answered) would run
    // and never be answered, Node closing the socket after the first: the close moves to the
    // newest request while the earlier head is not written (RFC 9112 §9.6: after a `close`, the
    // server does not process later requests). Once that head is out, the later request is not
    // answered (the client sends it again on a new connection).
    const last = new WeakMap<object, ToldToClose>()
    const onRequest = (req: { socket?: object }, res: ServerResponse): void => {
      const socket = req.socket
      const before = socket === undefined ? undefined : last.get(socket)
      const told = tellToClose(res)
      if (socket === undefined || told === undefined) return
      if (before !== undefined && before.res !== res && !before.res.writableEnded) {
        takeBackClose(before)
      }
      last.set(socket, told)
    }
    if (server.prependListener !== undefined) server.prependListener('request', onRequest)
    else server.on?.('request', onRequest)
    for (const socket of sockets) {
      const res = socket._httpMessage
      if (res === null || res === undefined) continue
      const told = tellToClose(res)
      if (told !== undefined) last.set(socket, told)
    }
  }

  /**
   * Stops accepting connections and resolves once every connection closed. `server.close()` closes
   * the connections idle at that moment (Node >= 19); a connection whose response said `close` is
   * closed by Node once that response is sent. No idle sweep beyond that: an idle keep-alive
   * connection that was never told to close (its response went out before the shutdown, e.g. a
   * stream) is left to the client and to the server's `keepAliveTimeout` (the timeout the client
   * was promised), and cut at the deadline at the latest.
   */
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        server.closeAllConnections()
        // Node's HTTP server only knows the connections it parses HTTP on: a TLS connection still
        // in its handshake (a client that stalled after part of its hello) is not among them, and
        // would hold the close until the TLS handshake timeout (120 s by default).
        for (const socket of sockets) socket.destroy()
      }, timeoutMs)
      // A connection that has sent nothing yet (a browser's preconnect, a balancer's spare) is
      // not idle to Node, whose header timer runs from the connect: it would hold the close until
      // the deadline. One still silent after a moment (time for a request already on its way to
      // arrive, and be answered with `close`) is cut: no request of its can be lost.
      const silent = setTimeout(
        () => {
          for (const socket of sockets) {
            if (socket.bytesRead === 0 && !socket._httpMessage) socket.destroy()
          }
        },
        Math.min(SILENT_GRACE_MS, timeoutMs)
      )
      server.close(() => {
        clearTimeout(deadline)
        clearTimeout(silent)
        resolve()
      })
      server.closeIdleConnections()
    })

  const shutdown = (): Promise<void> => {
    running ??= (async () => {
      sayClose()
      health?.markShuttingDown()
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
      await close()
      untrack()
      // The kit's work for requests cut at the deadline (an LLM stream's budget settle, its log
      // line) runs after their connections closed: done before `onShutdown` closes its stores.
      await workDone(Math.min(timeoutMs, WORK_LIMIT_MS))
      if (onShutdown !== undefined) await cleanupWithin(onShutdown, timeoutMs)
    })()
    return running
  }

  const removeListeners = (): void => {
    for (const signal of signals) process.off(signal, onSignal)
  }
  let signalled = false
  /**
   * Stays installed for the whole shutdown (`process.on`, not `once`): a signal repeated while
   * draining (a supervisor or an operator sending SIGTERM again, Ctrl-C twice) joins the shutdown
   * under way instead of meeting Node's default action, which would kill the process with the
   * requests and streams in flight. The listeners go once the shutdown is over, before the exit.
   *
   * The exit waits for every signal-triggered shutdown of the process (several servers, e.g. the
   * app and its metrics port, each got the signal): the first one over must not cut the others'
   * streams in flight. All of them start in the same emit of the signal, before any is over.
   */
  function onSignal(): void {
    if (signalled) return
    signalled = true
    const all = signalledShutdowns()
    all.pending++
    void shutdown().then(() => {
      removeListeners()
      all.pending--
      if (exit) all.exit = true
      if (all.pending > 0 || !all.exit) return
      all.exit = false
      process.exit(0)
    })
  }
  const installed: string[] = []
  try {
    for (const signal of signals) {
      process.on(signal, onSignal)
      installed.push(signal)
    }
  } catch (error) {
    // A signal this process still cannot listen for (uv_signal_start EINVAL): leave nothing behind.
    for (const signal of installed) process.off(signal, onSignal)
    untrack()
    throw new InvalidOptionsError(
      'signals',
      `cannot listen for ${String(signals[installed.length])}: ${(error as Error).message}`
    )
  }

  return {
    shutdown,
    dispose() {
      removeListeners()
      if (running === undefined) untrack()
    },
  }
}
