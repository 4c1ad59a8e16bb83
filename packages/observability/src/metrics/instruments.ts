/**
 * @module instruments
 * Registers (or reuses, by name) the prom-client instruments of one metrics instance. Reuse makes a
 * second registration in the same registry (hot reload, a second copy of the package) harmless
 * instead of prom-client's "already registered" throw.
 */
import { InvalidOptionsError } from '@aikit/core'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { FAST, FastGauge, FastHistogram } from './fast-instruments.js'
import { GEN_AI_DURATION_BUCKETS, GEN_AI_TOKEN_BUCKETS, METRIC_NAMES } from './names.js'

const GEN_AI_LABELS = [
  'gen_ai_provider_name',
  'gen_ai_request_model',
  'gen_ai_operation_name',
] as const

export interface Instruments {
  httpDuration: FastHistogram
  httpActive: FastGauge
  genAiTokens: Histogram<string>
  genAiDuration: Histogram<string>
  genAiTtfc: Histogram<string>
  llmCost: Counter<string>
  cache: Counter<string>
  rateLimit: Counter<string>
  budgetSpend: Counter<string>
  budgetRejections: Counter<string>
  budgetWarnings: Counter<string>
  budgetUnsettled: Counter<string>
  unknownModel: Counter<string>
  storeDegraded: Gauge<string>
  labelOverflow: Counter<string>
}

type Kind = 'histogram' | 'gauge' | 'counter'

interface Spec {
  kind: Kind
  /** One of the per-request instruments (fast-instruments.ts). */
  fast?: boolean
  help: string
  labels: readonly string[]
  buckets?: readonly number[]
  /** How a cluster primary combines the workers' values (prom-client's). Default `'sum'`. */
  aggregator?: 'max'
}

function specs(httpBuckets: readonly number[]): Record<keyof Instruments, Spec> {
  return {
    httpDuration: {
      kind: 'histogram',
      fast: true,
      help: 'Duration of HTTP server requests, until the body is fully sent (OTel http.server.request.duration).',
      labels: ['http_request_method', 'http_route', 'http_response_status_code', 'error_type'],
      buckets: httpBuckets,
    },
    httpActive: {
      kind: 'gauge',
      fast: true,
      help: 'Number of HTTP server requests in flight (OTel http.server.active_requests).',
      labels: ['http_request_method'],
    },
    genAiTokens: {
      kind: 'histogram',
      help: 'Billable tokens per GenAI operation, from provider usage (OTel gen_ai.client.token.usage).',
      labels: [...GEN_AI_LABELS, 'gen_ai_token_type'],
      buckets: GEN_AI_TOKEN_BUCKETS,
    },
    genAiDuration: {
      kind: 'histogram',
      help: 'GenAI operation duration (OTel gen_ai.client.operation.duration).',
      labels: [...GEN_AI_LABELS, 'error_type'],
      buckets: GEN_AI_DURATION_BUCKETS,
    },
    genAiTtfc: {
      kind: 'histogram',
      help: 'Time from sending a streamed GenAI request to its first chunk (OTel gen_ai.client.operation.time_to_first_chunk).',
      labels: [...GEN_AI_LABELS],
      buckets: GEN_AI_DURATION_BUCKETS,
    },
    llmCost: {
      kind: 'counter',
      help: 'Cost of GenAI operations in US dollars, from provider usage and the price table (AI Kit, not an OTel convention).',
      labels: ['gen_ai_provider_name', 'gen_ai_request_model'],
    },
    cache: {
      kind: 'counter',
      help: 'AI Kit cache lookups by result: hit, miss, stale, coalesced.',
      labels: ['cache', 'result'],
    },
    rateLimit: {
      kind: 'counter',
      help: 'AI Kit rate-limit decisions: allowed or denied.',
      labels: ['limiter', 'decision'],
    },
    budgetSpend: {
      kind: 'counter',
      help: 'AI Kit budget spend settled, in US dollars.',
      labels: ['budget'],
    },
    budgetRejections: {
      kind: 'counter',
      help: 'Requests an AI Kit budget rejected.',
      labels: ['budget'],
    },
    budgetWarnings: {
      kind: 'counter',
      help: 'Times an AI Kit budget crossed one of its warnAt thresholds.',
      labels: ['budget'],
    },
    budgetUnsettled: {
      kind: 'counter',
      help: 'Charges an AI Kit budget store never took (settle retries given up), in US dollars.',
      labels: ['budget'],
    },
    unknownModel: {
      kind: 'counter',
      help: 'LLM calls for a model missing from the AI Kit price table (never priced at $0).',
      labels: ['gen_ai_request_model'],
    },
    storeDegraded: {
      kind: 'gauge',
      help: '1 while an AI Kit store is degraded (unreachable or circuit open), else 0.',
      labels: ['store'],
      // Summed over cluster workers it would read 2, 3…: degraded in any worker is 1.
      aggregator: 'max',
    },
    labelOverflow: {
      kind: 'counter',
      help: 'Label values recorded as _other because the label reached maxLabelValues.',
      labels: ['metric', 'label'],
    },
  }
}

function sameLabels(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i])
}

function register(registry: Registry, name: string, spec: Spec): unknown {
  const existing = registry.getSingleMetric(name) as
    | { type?: string; labelNames?: string[]; [FAST]?: boolean }
    | undefined
  if (existing !== undefined) {
    if (
      existing.type !== spec.kind ||
      !sameLabels(existing.labelNames, spec.labels) ||
      (spec.fast === true) !== (existing[FAST] === true)
    ) {
      throw new InvalidOptionsError(
        'registry',
        `already holds a metric named ${name} of another type or label set`
      )
    }
    return existing
  }
  if (spec.fast === true) {
    const metric =
      spec.kind === 'histogram'
        ? new FastHistogram(name, spec.help, spec.labels, spec.buckets!)
        : new FastGauge(name, spec.help, spec.labels as [string])
    registry.registerMetric(metric as never)
    return metric
  }
  const config = {
    name,
    help: spec.help,
    labelNames: [...spec.labels],
    registers: [registry],
  }
  if (spec.kind === 'histogram') return new Histogram({ ...config, buckets: [...spec.buckets!] })
  if (spec.kind === 'gauge') {
    return new Gauge(spec.aggregator ? { ...config, aggregator: spec.aggregator } : config)
  }
  return new Counter(config)
}

export function createInstruments(
  registry: Registry,
  prefix: string,
  httpBuckets: readonly number[]
): Instruments {
  const all = specs(httpBuckets)
  const out: Partial<Record<keyof Instruments, unknown>> = {}
  for (const key of Object.keys(all) as (keyof Instruments)[]) {
    out[key] = register(registry, prefix + METRIC_NAMES[key], all[key])
  }
  return out as Instruments
}
