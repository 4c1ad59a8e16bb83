/**
 * @module options
 * Options of `createMetrics`, declared once with their defaults, and their validation.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import type { Registry, RegistryContentType } from 'prom-client'
import { HTTP_DURATION_BUCKETS } from './names.js'

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /**
   * The prom-client `Registry` to register into. Default: a new private `Registry` (never
   * prom-client's global `register`, so the app's own metrics cannot collide with ours). A metric
   * already registered under the same name, type and labels is reused, not registered twice, and
   * instances on the same registry share one label cap per metric and label (the first
   * instance's `maxLabelValues` holds) and collect the default metrics once. It may be an
   * OpenMetrics one (`new Registry(Registry.OPENMETRICS_CONTENT_TYPE)`, needed for exemplars):
   * `metricsHandler` serves both formats from it without renaming its counters.
   */
  registry?: Registry<RegistryContentType>
  /** Prefix put before every metric name, e.g. `'myapp_'`. Must match `[a-zA-Z_:][a-zA-Z0-9_:]*`. Default `''`. */
  prefix?: string
  /**
   * Hard cap on the distinct values of each label of each metric (routes, models, providers, cache
   * names…). Past it a new value is recorded as `_other` and counted in
   * `aikit_metrics_label_overflow_total{metric,label}`. Default `100`.
   */
  maxLabelValues?: number
  /**
   * Bucket upper bounds (seconds) of `http_server_request_duration_seconds`. Default: the OTel
   * advisory set extended for LLM routes: 0.005 … 10, 20, 40, 80.
   */
  httpBuckets?: readonly number[]
  /**
   * Name under which the instance is shared process-wide (on `globalThis`, so hot reload, several
   * bundles and two copies of this package all get the same metrics): a second `createMetrics()`
   * with the same key and the same options returns the first instance. `false` always creates a new
   * one. Ignored (never shared) when `registry` is given. Default `'default'`.
   */
  key?: string | false
  /** Also collect prom-client's default Node process metrics into the registry. Default `false`. */
  defaultMetrics?: boolean
}

/** The keys of `MetricsOptions`; any other key is refused (a misspelt option would be ignored). */
const METRICS_OPTION_KEYS = [
  'registry',
  'prefix',
  'maxLabelValues',
  'httpBuckets',
  'key',
  'defaultMetrics',
] as const satisfies readonly (keyof MetricsOptions)[]

/** `MetricsOptions` with defaults applied. */
export interface ResolvedMetricsOptions {
  registry: Registry | undefined
  prefix: string
  maxLabelValues: number
  httpBuckets: readonly number[]
  key: string | false
  defaultMetrics: boolean
}

const METRIC_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/

export function resolveMetricsOptions(options: MetricsOptions | undefined): ResolvedMetricsOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  if (options !== undefined) rejectUnknownOptions(options, METRICS_OPTION_KEYS)
  const {
    registry,
    prefix = '',
    maxLabelValues = 100,
    httpBuckets = HTTP_DURATION_BUCKETS,
    key = 'default',
    defaultMetrics = false,
  } = options ?? {}
  if (
    registry !== undefined &&
    (registry === null ||
      typeof registry !== 'object' ||
      typeof registry.registerMetric !== 'function' ||
      typeof registry.getSingleMetric !== 'function')
  ) {
    throw new InvalidOptionsError('registry', 'must be a prom-client Registry')
  }
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    throw new InvalidOptionsError('prefix', 'must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)')
  }
  if (!Number.isSafeInteger(maxLabelValues) || maxLabelValues < 1) {
    throw new InvalidOptionsError(
      'maxLabelValues',
      `must be an integer >= 1; got ${String(maxLabelValues)}`
    )
  }
  if (
    !Array.isArray(httpBuckets) ||
    httpBuckets.length === 0 ||
    httpBuckets.some(
      (b, i) =>
        typeof b !== 'number' ||
        !Number.isFinite(b) ||
        b <= 0 ||
        (i > 0 && b <= httpBuckets[i - 1]!)
    )
  ) {
    throw new InvalidOptionsError(
      'httpBuckets',
      'must be a non-empty array of increasing positive finite numbers'
    )
  }
  if (key !== false && (typeof key !== 'string' || key === '')) {
    throw new InvalidOptionsError('key', 'must be a non-empty string or false')
  }
  if (typeof defaultMetrics !== 'boolean') {
    throw new InvalidOptionsError('defaultMetrics', 'must be a boolean')
  }
  return {
    // prom-client's Registry type differs by content type only in `contentType` itself: an
    // OpenMetrics registry is used exactly as a Prometheus one here.
    registry: registry as Registry | undefined,
    prefix,
    maxLabelValues,
    httpBuckets,
    key,
    defaultMetrics,
  }
}
