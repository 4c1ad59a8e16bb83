/**
 * @module graceful-shutdown
 * `gracefulShutdown(server, { health })`: on SIGTERM, readiness fails first (the load balancer
 * stops sending traffic), then the server stops accepting connections while in-flight requests and
 * streamed answers finish, up to a deadline; then remaining connections are cut and `onShutdown`
 * runs (close Redis, flush logs and Sentry).
 */
import type { Server } from 'node:http'
import { InvalidOptionsError } from '@aikit/core'
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
  /** Deadline for in-flight requests and streams once closing starts; then connections are cut. Default `30000`. */
  timeoutMs?: number
  /** Signals that start the shutdown. `[]` for none (call `shutdown()` yourself). Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[]
  /** Runs after the server closed (close Redis clients, flush logs). Errors are swallowed. Default none. */
  onShutdown?: () => unknown
  /**
   * After a signal-triggered shutdown, `process.exit(0)` (a handled SIGTERM otherwise keeps the
   * process alive as long as any timer or client is open). Manual `shutdown()` never exits.
   * Default `true`.
   */
  exit?: boolean
}

/** What `gracefulShutdown` returns. */
export interface GracefulShutdown {
  /** Starts (or joins) the shutdown; resolves once the server is closed and `onShutdown` ran. */
  shutdown(): Promise<void>
  /** Removes the signal listeners. */
  dispose(): void
}

type ClosableServer = Pick<Server, 'close' | 'closeIdleConnections' | 'closeAllConnections'>

const IDLE_SWEEP_MS = 100

function validMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 3_600_000) {
    throw new InvalidOptionsError(field, 'must be an integer number of ms from 0 to 3600000')
  }
  return value
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
    signals.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))
  ) {
    throw new InvalidOptionsError('signals', "must be an array of signal names like 'SIGTERM'")
  }

  let running: Promise<void> | undefined

  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      // Connections that finish their last response become idle: sweep them so close() can end.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS)
      const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs)
      server.close(() => {
        clearInterval(sweep)
        clearTimeout(deadline)
        resolve()
      })
      server.closeIdleConnections()
    })

  const shutdown = (): Promise<void> => {
    running ??= (async () => {
      health?.markShuttingDown()
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
      await close()
      try {
        await onShutdown?.()
      } catch {
        // Shutting down anyway: a failing cleanup must not keep the process alive.
      }
    })()
    return running
  }

  const onSignal = (): void => {
    void shutdown().then(() => {
      if (exit) process.exit(0)
    })
  }
  for (const signal of signals) process.once(signal, onSignal)

  return {
    shutdown,
    dispose() {
      for (const signal of signals) process.off(signal, onSignal)
    },
  }
}
