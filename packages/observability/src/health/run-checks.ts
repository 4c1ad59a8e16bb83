/**
 * @module run-checks
 * Runs every readiness check at once, each bounded by its own timeout: a hung dependency (a Redis
 * that accepts the connection but never answers) fails its check in time instead of hanging the
 * probe. Concurrent probes share one run.
 */
import type {
  CheckDefinition,
  CheckOutcome,
  CheckReport,
  HealthReport,
  HealthStatus,
} from './types.js'

export interface ResolvedCheck extends Required<Omit<CheckDefinition, 'timeoutMs'>> {
  name: string
  timeoutMs: number
  /** The last report and when it was made (`performance.now()`, for `cacheMs`). */
  last?: { at: number; report: CheckReport }
  /**
   * The check's call still unsettled (it timed out and ignores its signal, e.g. a PING queued on a
   * hung Redis): the next probes wait on it instead of calling again, so a long outage does not
   * pile up one call per probe in the client's queue.
   */
  pending?: Promise<unknown> | undefined
}

/** The check's call: the one still pending from an earlier probe, else a new one. */
function callOf(check: ResolvedCheck, signal: AbortSignal): Promise<unknown> {
  if (check.pending !== undefined) return check.pending
  const call = Promise.resolve().then(() => check.check(signal))
  check.pending = call
  const settled = (): void => {
    if (check.pending === call) check.pending = undefined
  }
  call.then(settled, settled)
  return call
}

async function runCached(check: ResolvedCheck): Promise<CheckReport> {
  // Aged on the monotonic clock: a wall-clock step back (NTP, VM resume) would otherwise keep a
  // cached result, a failure included, until the wall clock caught up again.
  if (
    check.cacheMs > 0 &&
    check.last !== undefined &&
    performance.now() - check.last.at < check.cacheMs
  ) {
    return check.last.report
  }
  const report = await runOne(check)
  if (check.cacheMs > 0) check.last = { at: performance.now(), report }
  return report
}

class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`)
    this.name = 'CheckTimeout'
  }
}

/** A safe `output` for a failed check: no message (it may carry a URL with a password). */
function failureOutput(error: unknown): string {
  if (error instanceof CheckTimeout) return error.message
  const e = error as { code?: unknown; name?: unknown } | null
  const code = typeof e?.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(e.code) ? e.code : undefined
  const name = typeof e?.name === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(e.name) ? e.name : 'Error'
  return `check failed (${code ?? name})`
}

async function runOne(check: ResolvedCheck): Promise<CheckReport> {
  const controller = new AbortController()
  const started = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  let timedOut = false
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true
      const error = new CheckTimeout(check.timeoutMs)
      controller.abort(error)
      // A check that answers the abort at once with an outcome (what it was still waiting for,
      // e.g. which Cluster master) gets that output into the report: one turn to settle.
      setImmediate(() => reject(error))
    }, check.timeoutMs)
  })
  const time = new Date().toISOString()
  try {
    const result: unknown = await Promise.race([callOf(check, controller.signal), timeout])
    const outcome =
      result !== null && typeof result === 'object' ? (result as CheckOutcome) : undefined
    if (timedOut) {
      // Settled after its timeout: a failure whatever it says, with the output it gave.
      const reason = new CheckTimeout(check.timeoutMs).message
      const output = typeof outcome?.output === 'string' ? `${reason}: ${outcome.output}` : reason
      return {
        componentType: check.componentType,
        status: check.critical ? 'fail' : 'warn',
        output,
        time,
      }
    }
    const ms = Math.round(performance.now() - started)
    const status: HealthStatus = outcome?.status ?? 'pass'
    const report: CheckReport = {
      componentType: check.componentType,
      status: status === 'fail' && !check.critical ? 'warn' : status,
      observedValue: outcome?.observedValue ?? ms,
      observedUnit: outcome?.observedValue === undefined ? 'ms' : (outcome.observedUnit ?? ''),
      time,
    }
    if (report.observedUnit === '') delete report.observedUnit
    if (outcome?.output !== undefined) report.output = outcome.output
    return report
  } catch (error) {
    return {
      componentType: check.componentType,
      status: check.critical ? 'fail' : 'warn',
      // A check that rejects on the abort with its own error still timed out.
      output: timedOut ? new CheckTimeout(check.timeoutMs).message : failureOutput(error),
      time,
    }
  } finally {
    clearTimeout(timer)
  }
}

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 }

export async function runChecks(checks: readonly ResolvedCheck[]): Promise<HealthReport> {
  const reports = await Promise.all(checks.map(runCached))
  let status: HealthStatus = 'pass'
  const out: Record<string, CheckReport[]> = {}
  reports.forEach((report, i) => {
    const c = checks[i]!
    out[`${c.name}:${c.measurement}`] = [report]
    if (RANK[report.status] > RANK[status]) status = report.status
  })
  return checks.length === 0 ? { status } : { status, checks: out }
}
