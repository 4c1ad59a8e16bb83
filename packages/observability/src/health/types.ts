/**
 * @module types
 * The health check model: IETF draft-inadarei-api-health-check (`application/health+json`).
 */

/** A component's health: `pass` and `warn` answer 200, `fail` answers 503. */
export type HealthStatus = 'pass' | 'warn' | 'fail'

/** What a check function may return; nothing (or `undefined`) means `pass`. */
export interface CheckOutcome {
  /** Default `'pass'`. */
  status?: HealthStatus
  /** A measured value, e.g. a latency or a connection count. Default: the check's duration in ms. */
  observedValue?: number | string | boolean
  /** Unit of `observedValue`, e.g. `'ms'`. */
  observedUnit?: string
  /** Short, safe text for `warn`/`fail` (never a secret: it is served to anyone who can probe). */
  output?: string
}

/**
 * A check: resolve when healthy (with nothing, or a `CheckOutcome` to report a value or `warn`),
 * throw (or reject) when not.
 */
export type CheckFunction = (signal: AbortSignal) => Promise<unknown>

/** A check with its settings. */
export interface CheckDefinition {
  /**
   * The check itself; it receives an `AbortSignal` that aborts at the timeout. Resolving at once on
   * the abort with a `CheckOutcome` puts its `output` in the report after `timed out after N ms: `
   * (the status is a failure whatever the outcome says).
   */
  check: CheckFunction
  /** Time allowed before the check counts as failed. Default: `healthCheck`'s `timeoutMs`. */
  timeoutMs?: number
  /**
   * `true` (default): a failure fails readiness (503). `false`: a failure is reported as `warn`
   * and readiness stays 200 (an optional dependency, e.g. one provider of several).
   */
  critical?: boolean
  /** IETF `componentType`: `'datastore'`, `'component'`, `'system'`… Default `'component'`. */
  componentType?: string
  /** IETF measurement name, the part after `:` in the `checks` key. Default `'responseTime'`. */
  measurement?: string
  /**
   * Reuse the last result for this long (ms), so frequent probes do not hit a dependency each time
   * (a provider's API, a paid endpoint). Default `0` (run on every probe).
   */
  cacheMs?: number
}

/** One entry of the IETF `checks` object. */
export interface CheckReport {
  componentType: string
  status: HealthStatus
  observedValue?: number | string | boolean
  observedUnit?: string
  output?: string
  time: string
}

/** The `application/health+json` body. */
export interface HealthReport {
  status: HealthStatus
  output?: string
  checks?: Record<string, CheckReport[]>
}
