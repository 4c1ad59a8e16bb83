/**
 * @module create-metrics
 * `createMetrics()`: the HTTP, GenAI and AI Kit metrics on prom-client, behind small typed recording
 * functions so other packages and wrappers can report without knowing prom-client. Recording never
 * throws: a bad value (NaN, negative) is dropped, because metrics must not break a request.
 */
import { InvalidOptionsError } from '@aikit/core'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { errorTypeOf } from './error-type.js'
import type { GaugeCell } from './fast-instruments.js'
import { createInstruments, type Instruments } from './instruments.js'
import { LabelGuard } from './label-guard.js'
import { METRIC_NAMES, OTHER_ERROR, OTHER_VALUE, UNMATCHED_ROUTE } from './names.js'
import {
  type MetricsOptions,
  type ResolvedMetricsOptions,
  resolveMetricsOptions,
} from './options.js'

/** One finished HTTP server request. */
export interface HttpRequestRecord {
  /** Request method; anything outside the standard methods is recorded as `_OTHER`. */
  method: string
  /** Route template (`/chat/:id`), never the raw path. */
  route: string
  /** Final status code; `undefined` when the client left before a head was written. */
  statusCode: number | undefined
  /** Seconds from the start of the request until the body was fully sent (or the client left). */
  durationSeconds: number
  /** OTel `error.type` (e.g. `'500'`, `'INTERNAL'`); empty or omitted when the request succeeded. */
  errorType?: string
}

/** Token usage exactly as the provider reported it (billable counts). Never estimated. */
export interface LlmUsage {
  /** Billable input (prompt) tokens. */
  inputTokens?: number
  /** Billable output (completion) tokens. */
  outputTokens?: number
}

/** One GenAI client operation (a chat completion, an embedding call…). */
export interface LlmCallRecord {
  /** OTel `gen_ai.provider.name`: `'anthropic'`, `'openai'`, `'aws.bedrock'`… */
  provider: string
  /** Requested model, e.g. `'claude-sonnet-4-5'`. Unknown → `'_OTHER'`. */
  model?: string
  /** OTel `gen_ai.operation.name`. Default `'chat'`. */
  operation?: string
  /** Seconds from sending the request until the last chunk (or the error). */
  durationSeconds: number
  /** Seconds from sending a streamed request until its first chunk (streams only). */
  timeToFirstChunkSeconds?: number
  /** Provider-reported usage; no token observation is made without it. */
  usage?: LlmUsage
  /** Priced cost of the call in US dollars (from `@aikit/cost`), added to `aikit_llm_cost_usd_total`. */
  costUsd?: number
  /** The error that ended the call; sets `error_type` (its code, HTTP status or class name). */
  error?: unknown
  /** Explicit `error_type` (wins over `error`). */
  errorType?: string
}

/** A cache lookup outcome. */
export type CacheResult = 'hit' | 'miss' | 'stale' | 'coalesced'

/** The metrics instance `createMetrics` returns. */
export interface Metrics {
  /** The prom-client registry holding every metric (scrape it with `metricsHandler`). */
  readonly registry: Registry
  /** The prefix every metric name carries. */
  readonly prefix: string
  /** Records one finished HTTP server request (`httpMetrics` calls this). */
  recordHttpRequest(record: HttpRequestRecord): void
  /** Adds `delta` (+1 / -1) to the in-flight requests of `method`. */
  addActiveRequests(method: string, delta: number): void
  /** Records one GenAI operation: duration, time to first chunk, token usage and cost. */
  recordLlmCall(record: LlmCallRecord): void
  /** Counts one cache lookup. `cache` names the cache (default `'default'`). */
  recordCache(record: { result: CacheResult; cache?: string }): void
  /** Counts one rate-limit decision. `limiter` names the limiter (default `'default'`). */
  recordRateLimit(record: { allowed: boolean; limiter?: string }): void
  /** Adds settled spend and/or counts a rejection of a budget (default `'default'`). */
  recordBudget(record: {
    spentUsd?: number
    rejected?: boolean
    warning?: boolean
    /** A charge the budget's store never took (its settle retries given up), in US dollars. */
    unsettledUsd?: number
    budget?: string
  }): void
  /** Counts a call for a model missing from the price table. */
  recordUnknownModel(record: { model: string }): void
  /** Sets `aikit_store_degraded{store}` to 1 (degraded) or 0 (recovered). */
  setStoreDegraded(store: string, degraded: boolean): void
}

const HTTP_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
])
const CACHE_RESULTS = new Set<string>(['hit', 'miss', 'stale', 'coalesced'])

/**
 * `httpMetrics`'s per-request recorder on a metrics instance: `recordHttpRequest` without the record
 * object. Optional: an instance made by another copy of the package may not have it.
 */
export const RECORD_HTTP = Symbol.for('@aikit/observability.record-http.v1')

/** The signature behind `RECORD_HTTP` (arguments as in `HttpRequestRecord`). */
export type RecordHttp = (
  method: string,
  route: string,
  statusCode: number | undefined,
  errorType: string,
  durationSeconds: number
) => void

/**
 * `httpMetrics`'s in-flight gauge series of a method (`_OTHER` for a non-standard one), looked up
 * once per request and changed in place at its start and end (`addActiveRequests` looks it up
 * twice). Optional, as `RECORD_HTTP`.
 */
export const ACTIVE_HTTP = Symbol.for('@aikit/observability.active-http.v1')

/** The signature behind `ACTIVE_HTTP`. */
export type ActiveHttp = (method: string) => GaugeCell

const SHARED = Symbol.for('@aikit/observability.metrics')
type SharedMap = Map<string, { fingerprint: string; metrics: Metrics }>

function sharedMap(): SharedMap {
  const g = globalThis as Record<symbol, SharedMap | undefined>
  let map = g[SHARED]
  if (map === undefined) {
    map = new Map()
    g[SHARED] = map
  }
  return map
}

/** A finite number >= 0 (durations, dollars). */
const isNonNegative = (v: unknown): v is number =>
  typeof v === 'number' && v >= 0 && v < Number.POSITIVE_INFINITY
const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * Creates (or, for the same `key` and options, returns the process-wide) metrics instance.
 * Invalid options throw `InvalidOptionsError` naming the field.
 *
 * ```ts
 * const metrics = createMetrics()
 * metrics.recordLlmCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', durationSeconds: 3.2,
 *   usage: { inputTokens: 812, outputTokens: 240 }, costUsd: 0.006 })
 * ```
 */
export function createMetrics(options?: MetricsOptions): Metrics {
  const resolved = resolveMetricsOptions(options)
  if (resolved.registry !== undefined || resolved.key === false) return build(resolved)
  const fingerprint = JSON.stringify([
    resolved.prefix,
    resolved.maxLabelValues,
    resolved.httpBuckets,
    resolved.defaultMetrics,
  ])
  const map = sharedMap()
  const existing = map.get(resolved.key)
  if (existing !== undefined && existing.fingerprint === fingerprint) return existing.metrics
  // New options under the same key (edited during development): start a fresh instance.
  const metrics = build(resolved)
  map.set(resolved.key, { fingerprint, metrics })
  return metrics
}

/**
 * What every metrics instance on one registry shares: the label guards (the series are the
 * registry's, so the cap on their values must be too) and whether prom-client's default metrics
 * were collected into it (a second `collectDefaultMetrics` throws "already been registered").
 * Instances on one registry come from hot reload (Next.js dev) or from two modules passing the
 * app's registry; two copies of this package share it through `globalThis`.
 */
interface RegistryState {
  /** By metric name (prefix included) and label. */
  guards: Map<string, { value(value: string): string }>
  /** Prefixes whose default metrics were collected into the registry. */
  defaultMetrics: Set<string>
}

const REGISTRY_STATE = Symbol.for('@aikit/observability.registry-state.v1')

function registryState(registry: Registry): RegistryState {
  const g = globalThis as Record<symbol, WeakMap<Registry, RegistryState> | undefined>
  let states = g[REGISTRY_STATE]
  if (states === undefined) {
    states = new WeakMap()
    g[REGISTRY_STATE] = states
  }
  let state = states.get(registry)
  if (state === undefined) {
    state = { guards: new Map(), defaultMetrics: new Set() }
    states.set(registry, state)
  }
  return state
}

/** prom-client's default metrics, once per registry and prefix. */
function collectDefaultMetricsOnce(registry: Registry, prefix: string, state: RegistryState): void {
  if (state.defaultMetrics.has(prefix)) return
  // Collected by the app itself, or by a copy of this package older than the shared state.
  if (registry.getSingleMetric(`${prefix}process_cpu_user_seconds_total`) === undefined) {
    try {
      collectDefaultMetrics({ register: registry, prefix })
    } catch (error) {
      throw new InvalidOptionsError(
        'defaultMetrics',
        `prom-client's default metrics collide with metrics already in the registry: ${(error as Error).message}`
      )
    }
  }
  state.defaultMetrics.add(prefix)
}

function build(o: ResolvedMetricsOptions): Metrics {
  const registry = o.registry ?? new Registry()
  const m: Instruments = createInstruments(registry, o.prefix, o.httpBuckets)
  const shared = registryState(registry)
  if (o.defaultMetrics) collectDefaultMetricsOnce(registry, o.prefix, shared)

  // The first instance's cap holds for the registry (its series exist already).
  const guards = shared.guards
  const guard = (
    metric: keyof typeof METRIC_NAMES,
    label: string
  ): { value(v: string): string } => {
    const name = o.prefix + METRIC_NAMES[metric]
    const id = `${name}\0${label}`
    let g = guards.get(id)
    if (g === undefined) {
      // The overflow counter is the registry's too (reused by name by every instance).
      const overflow = m.labelOverflow
      const labels = { metric: name, label }
      g = new LabelGuard(o.maxLabelValues, () => overflow.inc(labels))
      guards.set(id, g)
    }
    if (metric === 'httpDuration') return g
    // prom-client (and its cluster aggregator) key a series by joining `name:value` pairs with
    // `,`, unescaped: two label sets whose values hold `,` and `:` could share one series. A
    // value without `,` keeps that key unambiguous.
    const kept = g
    return { value: (v: string) => kept.value(v.includes(',') ? v.replaceAll(',', ';') : v) }
  }
  const httpRoute = guard('httpDuration', 'http_route')
  const httpError = guard('httpDuration', 'error_type')
  const provider = guard('genAiDuration', 'gen_ai_provider_name')
  const model = guard('genAiDuration', 'gen_ai_request_model')
  const operation = guard('genAiDuration', 'gen_ai_operation_name')
  const llmError = guard('genAiDuration', 'error_type')
  const cacheName = guard('cache', 'cache')
  const limiterName = guard('rateLimit', 'limiter')
  const budgetName = guard('budgetSpend', 'budget')
  const storeName = guard('storeDegraded', 'store')
  const unknownModelName = guard('unknownModel', 'gen_ai_request_model')
  const str = (v: unknown, fallback: string): string =>
    typeof v === 'string' && v !== '' ? v : fallback
  const httpStatus = guard('httpDuration', 'http_response_status_code')
  // Codes this instance's guard already let through, as numbers: no string per request.
  const statusesSeen = new Set<number>()
  /** An HTTP status code as recorded: an integer in 100-599 under the label cap, else '' or `_other`. */
  const statusLabel = (code: number | undefined): string | number => {
    if (code === undefined || !Number.isInteger(code) || code < 100 || code > 599) return ''
    if (statusesSeen.has(code)) return code
    const text = String(code)
    if (httpStatus.value(text) !== text) return OTHER_VALUE
    statusesSeen.add(code)
    return code
  }

  // Label values of one observation; `observe` reads them synchronously and keeps none.
  const httpValues: (string | number)[] = ['', '', '', '']
  const recordHttp: RecordHttp = (method, route, statusCode, errorType, durationSeconds) => {
    if (!isNonNegative(durationSeconds)) return
    httpValues[0] = HTTP_METHODS.has(method) ? method : OTHER_ERROR
    httpValues[1] = httpRoute.value(str(route, UNMATCHED_ROUTE))
    httpValues[2] = statusLabel(statusCode)
    httpValues[3] = errorType ? httpError.value(errorType) : ''
    m.httpDuration.observe(httpValues, durationSeconds)
  }

  const metrics: Metrics = {
    registry,
    prefix: o.prefix,

    recordHttpRequest(r) {
      if (r === null || typeof r !== 'object') return
      recordHttp(r.method, r.route, r.statusCode, r.errorType ?? '', r.durationSeconds)
    },

    addActiveRequests(method, delta) {
      if (!Number.isFinite(delta)) return
      m.httpActive.add(HTTP_METHODS.has(method) ? method : OTHER_ERROR, delta)
    },

    recordLlmCall(r) {
      if (r === null || typeof r !== 'object') return
      const usage = r.usage
      const hasUsage = usage !== undefined && usage !== null
      // Nothing to record: the labels are not looked at (a dropped record takes no label slot).
      if (
        !isNonNegative(r.durationSeconds) &&
        !isNonNegative(r.timeToFirstChunkSeconds) &&
        !(hasUsage && (isCount(usage.inputTokens) || isCount(usage.outputTokens))) &&
        !isNonNegative(r.costUsd)
      ) {
        return
      }
      const labels = {
        gen_ai_provider_name: provider.value(str(r.provider, OTHER_ERROR)),
        gen_ai_request_model: model.value(str(r.model, OTHER_ERROR)),
        gen_ai_operation_name: operation.value(str(r.operation, 'chat')),
      }
      if (isNonNegative(r.durationSeconds)) {
        const errorType =
          r.errorType !== undefined && r.errorType !== ''
            ? r.errorType
            : r.error !== undefined
              ? errorTypeOf(r.error)
              : ''
        m.genAiDuration.observe(
          { ...labels, error_type: errorType === '' ? '' : llmError.value(errorType) },
          r.durationSeconds
        )
      }
      if (isNonNegative(r.timeToFirstChunkSeconds)) {
        m.genAiTtfc.observe(labels, r.timeToFirstChunkSeconds)
      }
      if (hasUsage) {
        if (isCount(usage.inputTokens)) {
          m.genAiTokens.observe({ ...labels, gen_ai_token_type: 'input' }, usage.inputTokens)
        }
        if (isCount(usage.outputTokens)) {
          m.genAiTokens.observe({ ...labels, gen_ai_token_type: 'output' }, usage.outputTokens)
        }
      }
      if (isNonNegative(r.costUsd)) {
        m.llmCost.inc(
          {
            gen_ai_provider_name: labels.gen_ai_provider_name,
            gen_ai_request_model: labels.gen_ai_request_model,
          },
          r.costUsd
        )
      }
    },

    recordCache(r) {
      if (r === null || typeof r !== 'object' || !CACHE_RESULTS.has(r.result)) return
      m.cache.inc({ cache: cacheName.value(str(r.cache, 'default')), result: r.result })
    },

    recordRateLimit(r) {
      if (r === null || typeof r !== 'object' || typeof r.allowed !== 'boolean') return
      m.rateLimit.inc({
        limiter: limiterName.value(str(r.limiter, 'default')),
        decision: r.allowed ? 'allowed' : 'denied',
      })
    },

    recordBudget(r) {
      if (r === null || typeof r !== 'object') return
      if (
        !isNonNegative(r.spentUsd) &&
        r.rejected !== true &&
        r.warning !== true &&
        !isNonNegative(r.unsettledUsd)
      ) {
        return
      }
      const labels = { budget: budgetName.value(str(r.budget, 'default')) }
      if (isNonNegative(r.spentUsd)) m.budgetSpend.inc(labels, r.spentUsd)
      if (r.rejected === true) m.budgetRejections.inc(labels)
      if (r.warning === true) m.budgetWarnings.inc(labels)
      if (isNonNegative(r.unsettledUsd)) m.budgetUnsettled.inc(labels, r.unsettledUsd)
    },

    recordUnknownModel(r) {
      if (r === null || typeof r !== 'object') return
      m.unknownModel.inc({ gen_ai_request_model: unknownModelName.value(str(r.model, 'unknown')) })
    },

    setStoreDegraded(store, degraded) {
      m.storeDegraded.set({ store: storeName.value(str(store, 'default')) }, degraded ? 1 : 0)
    },
  }
  Object.defineProperty(metrics, RECORD_HTTP, { value: recordHttp })
  // The gauge may be another copy's (reused by name from the registry), without `cell`.
  if (typeof m.httpActive.cell === 'function') {
    const activeHttp: ActiveHttp = (method) =>
      m.httpActive.cell(HTTP_METHODS.has(method) ? method : OTHER_ERROR)
    Object.defineProperty(metrics, ACTIVE_HTTP, { value: activeHttp })
  }
  return metrics
}
