/**
 * @module http-metrics
 * `httpMetrics(metrics)`: a middleware recording `http_server_request_duration_seconds` (until the
 * body is fully sent, so a 60-second stream counts as 60 seconds) and `http_server_active_requests`.
 */
import { type Context, InvalidOptionsError, type Middleware, onFinished } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import {
  ACTIVE_HTTP,
  type ActiveHttp,
  type Metrics,
  RECORD_HTTP,
  type RecordHttp,
} from './metrics/create-metrics.js'
import { errorTypeOf } from './metrics/error-type.js'
import type { GaugeCell } from './metrics/fast-instruments.js'
import { UNMATCHED_ROUTE } from './metrics/names.js'
import { type RouteResolver, routeOf } from './route.js'

/** Options of `httpMetrics`. */
export interface HttpMetricsOptions {
  /**
   * The route template of a request (`/chat/:id`), read when the response finished. Return
   * `undefined` for "no route" (recorded as `_unmatched`). Default: the framework's matched route
   * (Fastify `routeOptions.url`, Express `baseUrl + route.path` with a mount path's params put
   * back as `:name` and its literal segments lower-cased, see `routeOf`); under the Node and Next
   * adapters,
   * which have no router, every request is `_unmatched` unless this option names the route.
   */
  route?: RouteResolver
}

/** The keys of `HttpMetricsOptions`; any other key is refused. */
const HTTP_METRICS_OPTION_KEYS = ['route'] as const satisfies readonly (keyof HttpMetricsOptions)[]

export function assertMetrics(metrics: unknown, field = 'metrics'): asserts metrics is Metrics {
  if (
    metrics === null ||
    typeof metrics !== 'object' ||
    typeof (metrics as Metrics).recordHttpRequest !== 'function' ||
    typeof (metrics as Metrics).registry !== 'object'
  ) {
    throw new InvalidOptionsError(field, 'must be the result of createMetrics()')
  }
}

/**
 * Creates the HTTP metrics middleware. Put it first (after `requestLogger`) so it sees every
 * request the adapter runs the chain for, short-circuited ones included (under Fastify, not the
 * ones its router rejects before any hook: see the README). `error_type` follows the OTel HTTP convention: the status
 * code on 5xx responses (`'500'`, on every adapter), the thrown error's code or class name when the
 * request failed before any status was sent, else empty.
 */
export function httpMetrics(metrics: Metrics, options: HttpMetricsOptions = {}): Middleware {
  assertMetrics(metrics)
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, HTTP_METRICS_OPTION_KEYS)
  const { route = routeOf } = options
  if (typeof route !== 'function') {
    throw new InvalidOptionsError('route', 'must be a function (ctx) => string | undefined')
  }

  const recordHttp: RecordHttp =
    (metrics as { [RECORD_HTTP]?: RecordHttp })[RECORD_HTTP] ??
    ((method, route, statusCode, errorType, durationSeconds) =>
      metrics.recordHttpRequest({ method, route, statusCode, errorType, durationSeconds }))
  const activeHttp = (metrics as { [ACTIVE_HTTP]?: ActiveHttp })[ACTIVE_HTTP]

  const record = (
    ctx: Context,
    method: string,
    start: number,
    active: GaugeCell | undefined
  ): void => {
    const end = performance.now()
    if (active !== undefined) active.value--
    else metrics.addActiveRequests(method, -1)
    const status = ctx.status
    // OTel HTTP semconv: once a status code was sent, an error's `error.type` is that code (so a
    // thrown exception reads the same on every adapter, whoever turned it into the 500); the
    // exception's type only when the request failed before any status was sent.
    let errorType = ''
    if (status !== undefined) {
      if (status >= 500) errorType = String(status)
    } else if (ctx.error !== undefined) {
      errorType = errorTypeOf(ctx.error)
    }
    let template: string | undefined
    try {
      template = route(ctx)
    } catch {
      template = undefined
    }
    recordHttp(
      method,
      typeof template === 'string' && template !== '' ? template : UNMATCHED_ROUTE,
      status,
      errorType,
      (end - start) / 1000
    )
  }

  // Not an async function, and `onFinished` rather than `finished.then`: no promise per request
  // (each costs extra while AsyncLocalStorage is active on Node 20). The end of a response is
  // reported for error responses and aborted clients too, so recording hangs off it alone.
  return function httpMetrics(ctx, next) {
    const start = performance.now()
    const method = ctx.method
    // The in-flight series, found once and changed in place at both ends of the request.
    let active: GaugeCell | undefined
    if (activeHttp !== undefined) {
      active = activeHttp(method)
      active.value++
    } else {
      metrics.addActiveRequests(method, 1)
    }
    onFinished(ctx, () => record(ctx, method, start, active))
    return next()
  }
}
