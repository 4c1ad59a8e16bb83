/**
 * @module metrics-handler
 * `metricsHandler(metrics)`: serves the registry at `/metrics` as Prometheus text or OpenMetrics
 * (content negotiation), optionally behind a bearer token compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import {
  AikitError,
  type Context,
  InvalidOptionsError,
  type Middleware,
  type Next,
} from '@aikit/core'
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
   * Bearer token a scraper must send (`Authorization: Bearer <token>`), at least 16 characters;
   * compared in constant time. Missing or wrong → 401. Default: no token (protect the path at the
   * network level instead).
   */
  token?: string
}

const NO_STORE = 'no-store'

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Creates the scrape endpoint middleware. */
export function metricsHandler(metrics: Metrics, options: MetricsHandlerOptions = {}): Middleware {
  assertMetrics(metrics)
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  const { path = '/metrics', token } = options
  if (path !== null && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new InvalidOptionsError('path', "must be a path starting with '/' or null")
  }
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw new InvalidOptionsError('token', 'must be a string of at least 16 characters')
  }
  // Comparing fixed-length digests keeps timingSafeEqual's length check from leaking the length.
  const expected = token === undefined ? undefined : digest(token)
  const registry = metrics.registry

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
    const body = openMetrics ? await openMetricsText(registry) : await prometheusText(registry)
    ctx.respond(200, ctx.method === 'HEAD' ? '' : body, {
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
