/**
 * @module health-check
 * `healthCheck({ checks })`: liveness that depends on nothing (a Redis or provider outage must not
 * make Kubernetes restart every pod), readiness that runs the dependency checks with a timeout
 * each, both as `application/health+json`, and a switch that fails readiness during shutdown.
 */
import { InvalidOptionsError, type Middleware } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { READINESS_FAILED } from './probe-mark.js'
import { type ResolvedCheck, runChecks } from './run-checks.js'
import type { CheckDefinition, CheckFunction, HealthReport } from './types.js'

/** Paths the middleware answers (GET and HEAD); `null` turns one off. */
export interface HealthPaths {
  /** Liveness: 200 `pass` while the process can answer at all. Default `'/livez'`. */
  live?: string | null
  /** Readiness: the checks, 200 (`pass`/`warn`) or 503 (`fail`, or shutting down). Default `'/readyz'`. */
  ready?: string | null
  /** The same report as readiness, for humans and dashboards. Default `'/health'`. */
  health?: string | null
}

/** Options of `healthCheck`. */
export interface HealthCheckOptions {
  /**
   * Readiness checks by component name (`redis`, `anthropic`…): a function or a `CheckDefinition`.
   * The report's `checks` keys are `"<name>:<measurement>"`. Default `{}`.
   */
  checks?: Record<string, CheckFunction | CheckDefinition>
  /**
   * Time each check may take before it fails. Keep it under the probe's own timeout
   * (Kubernetes `timeoutSeconds` defaults to 1 s). Default `800`.
   */
  timeoutMs?: number
  /** Paths answered. Default `{ live: '/livez', ready: '/readyz', health: '/health' }`. */
  paths?: HealthPaths
}

/** The keys of `HealthCheckOptions`; any other key is refused (`checks`' own are the app's names). */
const HEALTH_CHECK_OPTION_KEYS = [
  'checks',
  'timeoutMs',
  'paths',
] as const satisfies readonly (keyof HealthCheckOptions)[]

/** The keys of `HealthPaths`. */
const HEALTH_PATH_KEYS = [
  'live',
  'ready',
  'health',
] as const satisfies readonly (keyof HealthPaths)[]

/** The keys of `CheckDefinition`. */
const CHECK_DEFINITION_KEYS = [
  'check',
  'timeoutMs',
  'critical',
  'componentType',
  'measurement',
  'cacheMs',
] as const satisfies readonly (keyof CheckDefinition)[]

/** The health middleware, plus its state for `gracefulShutdown` and your own code. */
export interface HealthCheck extends Middleware {
  /** Runs the checks now (concurrent calls share one run). */
  readiness(): Promise<HealthReport>
  /** Marks the service as shutting down: readiness fails from now on, liveness still passes. */
  markShuttingDown(): void
  /** True after `markShuttingDown()`. */
  readonly shuttingDown: boolean
}

const CONTENT_TYPE = 'application/health+json'
const HEADERS = { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' }

function validPath(value: unknown, field: string, fallback: string): string | null {
  if (value === undefined) return fallback
  if (value === null) return null
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new InvalidOptionsError(field, "must be a path starting with '/' or null")
  }
  return value
}

export function validTimeout(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 600_000) {
    throw new InvalidOptionsError(field, 'must be an integer number of ms from 1 to 600000')
  }
  return value
}

function resolveChecks(
  checks: Record<string, CheckFunction | CheckDefinition>,
  timeoutMs: number
): ResolvedCheck[] {
  if (checks === null || typeof checks !== 'object' || Array.isArray(checks)) {
    throw new InvalidOptionsError('checks', 'must be an object of checks by name')
  }
  return Object.entries(checks).map(([name, value]) => {
    const field = `checks.${name}`
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new InvalidOptionsError(field, 'name must match [A-Za-z0-9_.-]{1,64}')
    }
    const def: CheckDefinition = typeof value === 'function' ? { check: value } : value
    if (def === null || typeof def !== 'object' || typeof def.check !== 'function') {
      throw new InvalidOptionsError(field, 'must be a function or { check: function }')
    }
    rejectUnknownOptions(def, CHECK_DEFINITION_KEYS, `${field}.`)
    const {
      check,
      critical = true,
      componentType = 'component',
      measurement = 'responseTime',
      cacheMs = 0,
    } = def
    if (typeof critical !== 'boolean')
      throw new InvalidOptionsError(`${field}.critical`, 'must be a boolean')
    if (!Number.isInteger(cacheMs) || cacheMs < 0) {
      throw new InvalidOptionsError(`${field}.cacheMs`, 'must be an integer >= 0')
    }
    // Both end up in the served report (`componentType`, and the `"<name>:<measurement>"` key).
    if (typeof componentType !== 'string' || componentType === '' || componentType.length > 64) {
      throw new InvalidOptionsError(`${field}.componentType`, 'must be a non-empty string')
    }
    if (typeof measurement !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(measurement)) {
      throw new InvalidOptionsError(`${field}.measurement`, 'must match [A-Za-z0-9_.-]{1,64}')
    }
    return {
      name,
      check,
      critical,
      componentType,
      measurement,
      cacheMs,
      timeoutMs:
        def.timeoutMs === undefined ? timeoutMs : validTimeout(def.timeoutMs, `${field}.timeoutMs`),
    }
  })
}

/**
 * Creates the health middleware. Invalid options throw `InvalidOptionsError` naming the field.
 *
 * ```ts
 * const health = healthCheck({ checks: { redis: redisCheck(redis) } })
 * app.use(toExpress(health))   // GET /livez, /readyz, /health
 * gracefulShutdown(server, { health })
 * ```
 */
export function healthCheck(options: HealthCheckOptions = {}): HealthCheck {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, HEALTH_CHECK_OPTION_KEYS)
  const timeoutMs = validTimeout(options.timeoutMs ?? 800, 'timeoutMs')
  const checks = resolveChecks(options.checks ?? {}, timeoutMs)
  const paths = options.paths ?? {}
  if (paths === null || typeof paths !== 'object') {
    throw new InvalidOptionsError('paths', 'must be an object')
  }
  rejectUnknownOptions(paths, HEALTH_PATH_KEYS, 'paths.')
  const live = validPath(paths.live, 'paths.live', '/livez')
  const ready = validPath(paths.ready, 'paths.ready', '/readyz')
  const health = validPath(paths.health, 'paths.health', '/health')

  let shuttingDown = false
  let running: Promise<HealthReport> | undefined

  const readiness = (): Promise<HealthReport> => {
    if (shuttingDown) return Promise.resolve({ status: 'fail', output: 'shutting down' })
    if (running === undefined) {
      running = runChecks(checks).finally(() => {
        running = undefined
      })
    }
    return running
  }

  const middleware = async function healthCheck(
    ctx: Parameters<Middleware>[0],
    next: Parameters<Middleware>[1]
  ): Promise<void> {
    const path = ctx.path
    if (path !== live && path !== ready && path !== health) return next()
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next()
    const report: HealthReport = path === live ? { status: 'pass' } : await readiness()
    const status = report.status === 'fail' ? 503 : 200
    if (status === 503) (ctx.state as Record<symbol, unknown>)[READINESS_FAILED] = true
    // HEAD gets GET's body too: the adapter sends its Content-Length and no content (RFC 9110
    // §8.6: a HEAD response's Content-Length is the GET body's, never 0 for a non-empty one).
    ctx.respond(status, JSON.stringify(report), HEADERS)
  }

  return Object.defineProperties(middleware, {
    readiness: { value: readiness },
    markShuttingDown: {
      value: () => {
        shuttingDown = true
      },
    },
    shuttingDown: { get: () => shuttingDown },
  }) as HealthCheck
}
