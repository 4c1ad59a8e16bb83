/**
 * @module metrics-handler
 * `metricsHandler(metrics)`: serves the registry at `/metrics` as Prometheus text or OpenMetrics
 * (content negotiation), optionally behind a bearer token compared in constant time.
 * `clusterMetricsHandler()`: the same endpoint in a Node cluster primary, serving the sum of its
 * workers' registries (each worker calls `serveClusterMetrics(metrics)`).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import {
  AikitError,
  type Context,
  InvalidOptionsError,
  type Middleware,
  type Next,
} from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { Registry } from 'prom-client'
import { aggregateCluster, LabelCap } from './cluster-metrics.js'
import {
  OPENMETRICS_CONTENT_TYPE,
  openMetricsText,
  PROMETHEUS_CONTENT_TYPE,
  prefersOpenMetrics,
  prometheusText,
} from './exposition.js'
import { assertMetrics } from './http-metrics.js'
import type { Metrics } from './metrics/create-metrics.js'

/** Options of `metricsHandler`. */
export interface MetricsHandlerOptions {
  /**
   * Path answered (GET and HEAD); other requests go on to `next()`. `null` answers every request
   * that reaches it (mount it on a route yourself). Default `'/metrics'`.
   */
  path?: string | null
  /**
   * Bearer token a scraper must send (`Authorization: Bearer <token>`), at least 16 characters of
   * visible ASCII (spaces inside only: a header value loses its leading and trailing ones);
   * compared in constant time. Missing or wrong → 401. Default: no token (protect the path at the
   * network level instead).
   */
  token?: string
}

/** The keys of `MetricsHandlerOptions`; any other key is refused. */
const METRICS_HANDLER_OPTION_KEYS = [
  'path',
  'token',
] as const satisfies readonly (keyof MetricsHandlerOptions)[]

const NO_STORE = 'no-store'

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** The longest delay a timer can wait (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647

/** Options of `clusterMetricsHandler`. */
export interface ClusterMetricsHandlerOptions extends MetricsHandlerOptions {
  /**
   * Milliseconds the primary waits for every connected worker. A worker that has not answered (or
   * exits meanwhile) fails the scrape with 503 rather than serving a partial sum, which Prometheus
   * would read as counter resets. At most `2_147_483_647` (the longest timer delay: a longer one
   * would fire at once and fail every scrape). Default `5000` (prom-client's).
   */
  timeoutMs?: number
  /**
   * Cap on the distinct values of each label of each metric in the sum; values past it become
   * `_other`, counted in `aikit_metrics_label_overflow_total`. The values kept are the first ones
   * this handler saw, kept from one scrape to the next (as `createMetrics` keeps them in a worker).
   * Default `100` (as `createMetrics`).
   */
  maxLabelValues?: number
}

/** The keys of `ClusterMetricsHandlerOptions`; any other key is refused. */
const CLUSTER_METRICS_HANDLER_OPTION_KEYS = [
  ...METRICS_HANDLER_OPTION_KEYS,
  'timeoutMs',
  'maxLabelValues',
] as const satisfies readonly (keyof ClusterMetricsHandlerOptions)[]

/** Creates the scrape endpoint middleware. */
export function metricsHandler(metrics: Metrics, options: MetricsHandlerOptions = {}): Middleware {
  assertMetrics(metrics)
  if (options !== null && typeof options === 'object') {
    rejectUnknownOptions(options, METRICS_HANDLER_OPTION_KEYS)
  }
  const registry = metrics.registry
  return scrapeHandler(() => Promise.resolve(registry), options)
}

/**
 * Creates the scrape endpoint of a Node cluster primary: every connected worker's metrics
 * (registered there with `serveClusterMetrics(metrics)`), summed per series. Same `path` and
 * `token` as `metricsHandler`; a failed collection answers 503 `METRICS_UNAVAILABLE`.
 */
export function clusterMetricsHandler(options: ClusterMetricsHandlerOptions = {}): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, CLUSTER_METRICS_HANDLER_OPTION_KEYS)
  const { timeoutMs = 5000, maxLabelValues = 100, ...rest } = options
  // The scrape's deadline is a timer: Node fires a longer delay after 1 ms, failing every scrape.
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMER_MS) {
    throw new InvalidOptionsError(
      'timeoutMs',
      `must be an integer from 1 to ${MAX_TIMER_MS} (the longest timer delay)`
    )
  }
  if (!Number.isSafeInteger(maxLabelValues) || maxLabelValues < 1) {
    throw new InvalidOptionsError('maxLabelValues', 'must be an integer >= 1')
  }
  // One cap for the handler's life: the values kept stay the same from one scrape to the next.
  const cap = new LabelCap(maxLabelValues)
  return scrapeHandler(() => aggregateCluster({ timeoutMs, cap }), rest)
}

// What a scraper can send after `Bearer `: clients and parsers drop a header value's leading and
// trailing spaces, and refuse control or non-ASCII characters, so any other token could never match.
const SENDABLE_TOKEN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

function scrapeHandler(
  source: () => Promise<Registry>,
  options: MetricsHandlerOptions
): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  const { path = '/metrics', token } = options
  if (path !== null && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new InvalidOptionsError('path', "must be a path starting with '/' or null")
  }
  if (
    token !== undefined &&
    (typeof token !== 'string' || token.length < 16 || !SENDABLE_TOKEN.test(token))
  ) {
    throw new InvalidOptionsError(
      'token',
      'must be a string of at least 16 characters, visible ASCII with no leading or trailing space'
    )
  }
  // Comparing fixed-length digests keeps timingSafeEqual's length check from leaking the length.
  const expected = token === undefined ? undefined : digest(token)

  const serve = async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      if (path !== null) return next()
      const error = new AikitError('METHOD_NOT_ALLOWED', 405, 'Method not allowed')
      ctx.respond(405, error.toJSON(), { allow: 'GET, HEAD', 'cache-control': NO_STORE })
      return
    }
    if (expected !== undefined) {
      const auth = ctx.header('authorization') ?? ''
      const given = /^bearer /i.test(auth) ? auth.slice(7).trim() : ''
      if (!timingSafeEqual(digest(given), expected)) {
        const error = new AikitError('UNAUTHORIZED', 401, 'A valid bearer token is required')
        ctx.respond(401, error.toJSON(), {
          'www-authenticate': 'Bearer realm="metrics"',
          'cache-control': NO_STORE,
        })
        return
      }
    }
    const openMetrics = prefersOpenMetrics(ctx.header('accept'))
    let registry: Registry
    try {
      registry = await source()
    } catch {
      // Which worker failed is for the primary's own logs, not for the scraper.
      const error = new AikitError('METRICS_UNAVAILABLE', 503, 'Metrics could not be collected')
      ctx.respond(503, error.toJSON(), { 'cache-control': NO_STORE })
      return
    }
    const body = openMetrics ? await openMetricsText(registry) : await prometheusText(registry)
    // HEAD gets GET's body too: the adapter sends its Content-Length and no content (RFC 9110
    // §8.6: a HEAD response's Content-Length is the GET body's, never 0 for a non-empty one).
    ctx.respond(200, body, {
      'content-type': openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
      'cache-control': NO_STORE,
    })
  }

  // Requests for other paths pay one comparison, not an async call.
  return function metricsHandler(ctx, next) {
    if (path !== null && ctx.path !== path) return next()
    return serve(ctx, next)
  }
}
