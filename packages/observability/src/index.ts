/**
 * @module @aikit/observability
 * Metrics (Prometheus, OTel names), structured logs, health checks and graceful shutdown for AI
 * apps. Node-only by nature (prom-client, winston); Sentry lives in `@aikit/observability/sentry`.
 */

export { serveClusterMetrics } from './cluster-metrics.js'
export { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE } from './exposition.js'
export {
  type HttpCheckOptions,
  httpCheck,
  type PingableClient,
  type RedisCheckOptions,
  redisCheck,
} from './health/checks.js'
export {
  type GracefulShutdown,
  type GracefulShutdownOptions,
  gracefulShutdown,
} from './health/graceful-shutdown.js'
export {
  type HealthCheck,
  type HealthCheckOptions,
  type HealthPaths,
  healthCheck,
} from './health/health-check.js'
export type {
  CheckDefinition,
  CheckFunction,
  CheckOutcome,
  CheckReport,
  HealthReport,
  HealthStatus,
} from './health/types.js'
export { type HttpMetricsOptions, httpMetrics } from './http-metrics.js'
export { createLogger, type LoggerOptions } from './logger/create-logger.js'
export {
  isSafeRequestId,
  type LineLogger,
  type RequestLoggerOptions,
  requestLogger,
} from './logger/request-logger.js'
export {
  type CacheResult,
  createMetrics,
  type HttpRequestRecord,
  type LlmCallRecord,
  type LlmUsage,
  type Metrics,
} from './metrics/create-metrics.js'
export {
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_BUCKETS,
  HTTP_DURATION_BUCKETS,
  METRIC_NAMES,
} from './metrics/names.js'
export {
  type BudgetSource,
  type DegradableSource,
  observeBudget,
  observePriceTable,
  observeRateLimiter,
  observeStore,
  type PriceTableSource,
  type RateLimiterSource,
} from './metrics/observe.js'
export type { MetricsOptions } from './metrics/options.js'
export {
  type ClusterMetricsHandlerOptions,
  clusterMetricsHandler,
  type MetricsHandlerOptions,
  metricsHandler,
} from './metrics-handler.js'
export { type RouteResolver, routeOf } from './route.js'
export type { ObservabilityState } from './state.js'
