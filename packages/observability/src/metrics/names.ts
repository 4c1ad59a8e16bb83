/**
 * @module names
 * Every metric name, label name and bucket list the package registers, in one place. HTTP and GenAI
 * metrics follow the OpenTelemetry semantic conventions in their Prometheus form (`.` → `_`, unit
 * suffix, `_total` on counters); the `aikit_*` metrics are the kit's own.
 */

/** OTel `http.server.request.duration` advisory buckets (seconds), extended to 80 s for LLM routes. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
]

/** OTel GenAI advisory buckets for durations and time to first chunk (seconds, doubling). */
export const GEN_AI_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]

/** OTel GenAI advisory buckets for `gen_ai.client.token.usage` (powers of 4). */
export const GEN_AI_TOKEN_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]

/** Metric names without the optional `prefix`. */
export const METRIC_NAMES = {
  /** Histogram, seconds: OTel `http.server.request.duration` (Stable). */
  httpDuration: 'http_server_request_duration_seconds',
  /** Gauge: OTel `http.server.active_requests`. */
  httpActive: 'http_server_active_requests',
  /** Histogram, tokens: OTel `gen_ai.client.token.usage` (Development). */
  genAiTokens: 'gen_ai_client_token_usage',
  /** Histogram, seconds: OTel `gen_ai.client.operation.duration`. */
  genAiDuration: 'gen_ai_client_operation_duration_seconds',
  /** Histogram, seconds: OTel `gen_ai.client.operation.time_to_first_chunk`. */
  genAiTtfc: 'gen_ai_client_operation_time_to_first_chunk_seconds',
  /** Counter, US dollars: custom (no convention exists), from the caller's priced usage. */
  llmCost: 'aikit_llm_cost_usd_total',
  /** Counter: cache lookups by result (`hit`, `miss`, `stale`, `coalesced`). */
  cache: 'aikit_cache_lookups_total',
  /** Counter: rate-limit decisions (`allowed`, `denied`). */
  rateLimit: 'aikit_ratelimit_decisions_total',
  /** Counter, US dollars: budget spend settled. */
  budgetSpend: 'aikit_budget_spend_usd_total',
  /** Counter: requests a budget rejected. */
  budgetRejections: 'aikit_budget_rejections_total',
  /** Counter: budget warnings (a soft or hard budget's use crossed a `warnAt` threshold). */
  budgetWarnings: 'aikit_budget_warnings_total',
  /**
   * Counter, US dollars: charges of answered calls the budget's store never took (its settle
   * retries given up, `'unsettled'`): spend that happened and is missing from the budget.
   */
  budgetUnsettled: 'aikit_budget_unsettled_usd_total',
  /** Counter: LLM calls priced for a model missing from the price table (fallback or held amount). */
  unknownModel: 'aikit_llm_unknown_model_total',
  /** Gauge: 1 while a store is degraded (unreachable, circuit open), else 0. */
  storeDegraded: 'aikit_store_degraded',
  /** Counter: label values replaced by `_other` because a label hit `maxLabelValues`. */
  labelOverflow: 'aikit_metrics_label_overflow_total',
} as const

/** The value a label takes once it has `maxLabelValues` distinct values. */
export const OTHER_VALUE = '_other'

/** `http_route` of a request no route matched (404s, requests a middleware answered first). */
export const UNMATCHED_ROUTE = '_unmatched'

/** OTel `error.type` fallback when nothing better is known. */
export const OTHER_ERROR = '_OTHER'
