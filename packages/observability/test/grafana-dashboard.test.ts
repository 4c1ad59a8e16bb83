import { readFileSync } from 'node:fs'
import { createMetrics } from '@aikit/observability'
import { describe, expect, it } from 'vitest'

interface Panel {
  title: string
  targets: { expr: string }[]
}

const dashboard = JSON.parse(
  readFileSync(new URL('../grafana/aikit-dashboard.json', import.meta.url), 'utf8')
) as { panels: Panel[] }

/** Metric names in a PromQL expression: label matchers, grouping clauses and strings removed first. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
  const names = stripped.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? []
  return names.filter(
    (n) =>
      !/^(?:sum|rate|increase|max|min|avg|histogram_quantile|by|without|le|bool|on|ignoring)$/.test(
        n
      ) && !/^\d/.test(n)
  )
}

/** Every series name the package's registry exposes (histograms as _bucket/_sum/_count). */
async function exposedNames(): Promise<Set<string>> {
  const metrics = createMetrics({ key: false })
  const names = new Set<string>()
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix)
    } else names.add(metric.name)
  }
  return names
}

describe('grafana/aikit-dashboard.json', () => {
  it('uses only metric names the package registers', async () => {
    const exposed = await exposedNames()
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr)))
    expect(used.length).toBeGreaterThan(10)
    expect(used.filter((n) => !exposed.has(n))).toEqual([])
  })

  it('has a query in every panel, and covers requests, latency, tokens, cost, TTFT, cache and rate limits', async () => {
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0)
      for (const t of panel.targets) expect(metricNames(t.expr).length, t.expr).toBeGreaterThan(0)
    }
    const used = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr)))
    )
    for (const name of [
      'http_server_request_duration_seconds_count',
      'http_server_request_duration_seconds_bucket',
      'gen_ai_client_token_usage_sum',
      'aikit_llm_cost_usd_total',
      'gen_ai_client_operation_time_to_first_chunk_seconds_bucket',
      'aikit_cache_lookups_total',
      'aikit_ratelimit_decisions_total',
    ]) {
      expect(used.has(name), name).toBe(true)
    }
  })

  it('the name check catches an unknown metric', () => {
    expect(metricNames('sum by (le) (rate(http_requests_total{code="200"}[5m]))')).toEqual([
      'http_requests_total',
    ])
  })
})
