/**
 * @module redis/breaker
 * A small circuit breaker with a half-open probe. No Node APIs, so other packages may reuse it.
 *
 * closed → (failureThreshold consecutive failures) → open: calls fail fast without running →
 * (openMs later) half-open: exactly one probe call runs, the others still fail fast →
 * probe succeeds → closed; probe fails → open again for another `openMs`.
 */
import { InvalidOptionsError, StoreUnavailableError } from '../store/errors.js'
import { monotonicNow } from './monotonic.js'

/** The breaker's state. `half-open` means the next call will be let through as the probe. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/** Options of `circuitBreaker`. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default `5`. */
  failureThreshold?: number
  /** How long the circuit stays open before one probe call is let through, in ms. Default `500`. */
  openMs?: number
  /**
   * Clock in milliseconds; only differences between its readings are used (`openMs`, `downMs`).
   * Default: a monotonic clock (`performance.now()`, where the runtime has it), so that a step of
   * the wall clock (NTP, a VM resume) neither holds the circuit open nor shortens `openMs`.
   */
  now?: () => number
  /** Called when the circuit opens from closed (not when a failed probe re-opens it). */
  onOpen?: (info: { failures: number; error: unknown }) => void
  /** Called when a probe succeeds and the circuit closes; `downMs` since it opened. */
  onClose?: (info: { downMs: number }) => void
}

/** A circuit breaker; see the module description for the state machine. */
export interface CircuitBreaker {
  /** Current state (`half-open` once `openMs` has passed and no probe is running). */
  readonly state: CircuitState
  /** Consecutive failures counted while closed. */
  readonly failures: number
  /**
   * Runs `fn` unless the circuit is open (then rejects with `StoreUnavailableError`, reason
   * `circuit-open`, `retryAfterMs` the time until the half-open probe, without calling `fn`).
   * `isFailure` decides whether a rejection counts as a failure; one that does not (e.g. a script
   * error: the server answered) counts as a success.
   */
  execute<T>(fn: () => Promise<T>, isFailure?: (error: unknown) => boolean): Promise<T>
  /**
   * `execute` in two synchronous halves, for callers that wrap the call's promise themselves (one
   * promise less per call on a hot path): `admit()` throws `StoreUnavailableError` when the circuit
   * is open, else returns whether this call is the half-open probe; then exactly one of
   * `succeeded(isProbe)` or `failed(isProbe, error, isFailure)` reports the outcome.
   */
  admit(): boolean
  succeeded(isProbe: boolean): void
  failed(isProbe: boolean, error: unknown, isFailure?: (error: unknown) => boolean): void
  /** Forces the circuit closed and clears the failure count. */
  reset(): void
}

/** Validates breaker options; `path` prefixes field names in errors (e.g. `breaker.`). */
export function validateBreakerOptions(
  options: CircuitBreakerOptions,
  path = ''
): { failureThreshold: number; openMs: number } {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError(path ? path.slice(0, -1) : 'options', 'must be an object')
  }
  const failureThreshold = options.failureThreshold ?? 5
  const openMs = options.openMs ?? 500
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    throw new InvalidOptionsError(`${path}failureThreshold`, 'must be a positive integer')
  }
  if (typeof openMs !== 'number' || !Number.isFinite(openMs) || openMs < 0) {
    throw new InvalidOptionsError(`${path}openMs`, 'must be a finite number of milliseconds >= 0')
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new InvalidOptionsError(`${path}now`, 'must be a function')
  }
  return { failureThreshold, openMs }
}

/** Creates a circuit breaker. Throws `InvalidOptionsError` on invalid options. */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const { failureThreshold, openMs } = validateBreakerOptions(options)
  const now = options.now ?? monotonicNow
  let open = false
  let failures = 0
  let openedAt = 0
  let downSince = 0
  let probing = false

  const trip = (error: unknown): void => {
    open = true
    openedAt = now()
    downSince = openedAt
    options.onOpen?.({ failures, error })
  }

  const succeeded = (isProbe: boolean): void => {
    if (isProbe) {
      open = false
      failures = 0
      options.onClose?.({ downMs: now() - downSince })
    } else if (!open) {
      failures = 0
    }
  }

  const failed = (isProbe: boolean, error: unknown): void => {
    if (isProbe) {
      openedAt = now()
    } else if (!open) {
      failures++
      if (failures >= failureThreshold) trip(error)
    }
    // A late failure of a call started before the circuit opened changes nothing.
  }

  const admit = (): boolean => {
    if (!open) return false
    const openFor = now() - openedAt
    if (probing || openFor < openMs) {
      // The wait until the half-open probe (0 while it runs) travels to the client as Retry-After.
      throw new StoreUnavailableError('circuit open: store is unavailable', {
        reason: 'circuit-open',
        retryAfterMs: Math.max(0, openMs - openFor),
      })
    }
    probing = true
    return true
  }

  const callSucceeded = (isProbe: boolean): void => {
    if (isProbe) probing = false
    succeeded(isProbe)
  }

  const callFailed = (
    isProbe: boolean,
    error: unknown,
    isFailure: (error: unknown) => boolean = () => true
  ): void => {
    if (isProbe) probing = false
    if (isFailure(error)) failed(isProbe, error)
    else succeeded(isProbe)
  }

  return {
    get state(): CircuitState {
      if (!open) return 'closed'
      return !probing && now() - openedAt >= openMs ? 'half-open' : 'open'
    },
    get failures() {
      return failures
    },
    admit,
    succeeded: callSucceeded,
    failed: callFailed,
    async execute<T>(fn: () => Promise<T>, isFailure: (error: unknown) => boolean = () => true) {
      const isProbe = admit()
      let result: T
      try {
        result = await fn()
      } catch (error) {
        callFailed(isProbe, error, isFailure)
        throw error
      }
      callSucceeded(isProbe)
      return result
    },
    reset() {
      open = false
      probing = false
      failures = 0
    },
  }
}
