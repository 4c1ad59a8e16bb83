/**
 * Exposition formats as served by `metricsHandler` / `clusterMetricsHandler`: "Prometheus text
 * 0.0.4, or OpenMetrics 1.0 when the Accept header prefers it" (README), from either kind of
 * prom-client registry and without changing it, checked against the OpenMetrics 1.0 specification
 * (ABNF; "Canonical Numbers") and the Prometheus text format.
 */
import {
  clusterMetricsHandler,
  createMetrics,
  metricsHandler,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from '@aikit/observability'
import {
  AggregatorRegistry,
  Histogram,
  type OpenMetricsContentType,
  Registry,
  type RegistryContentType,
  Summary,
} from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { canonicalNumber } from '../src/canonical-number.js'
import { openMetricsText, prometheusText } from '../src/exposition.js'
import { parseScrape, sampleValue } from './parse-scrape.js'
import { closeAll, nodeApp } from './servers.js'

afterAll(closeAll)

/** A registry created as OpenMetrics (prom-client's typings declare no constructor argument). */
function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>()
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  return registry
}

const OM_ACCEPT = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'

/** The `label` values of the `name` sample lines of an exposition, in order. */
function labelValues(body: string, name: string, label: string): string[] {
  return body
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => new RegExp(`[{,]${label}="([^"]*)"`).exec(l)![1]!)
}

describe('metricsHandler on an OpenMetrics registry (the kind prom-client needs for exemplars)', () => {
  it('answers a text-format scrape in the Prometheus text format (counters keep _total in HELP/TYPE, no # EOF)', async () => {
    const registry = openMetricsRegistry()
    registry.setDefaultLabels({ service: 'chat-api' })
    const metrics = createMetrics({ registry })
    metrics.recordCache({ result: 'hit' })
    const base = await nodeApp([metricsHandler(metrics)])

    const res = await fetch(`${base}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } })
    expect(res.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE)
    const body = await res.text()
    expect(sampleValue(parseScrape(body), 'aikit_cache_lookups_total', { result: 'hit' })).toBe(1)
    // In the text format a counter's family is named as its samples are.
    expect(body).toContain('# TYPE aikit_cache_lookups_total counter')
    expect(body).toContain(
      'aikit_cache_lookups_total{cache="default",result="hit",service="chat-api"} 1'
    )
    expect(body).not.toContain('# EOF')
  })

  it('renders the text format as a Prometheus registry holding the same metrics does', async () => {
    const record = (registry: Registry<RegistryContentType>) => {
      const metrics = createMetrics({ registry })
      metrics.recordCache({ result: 'miss' })
      metrics.recordHttpRequest({ method: 'GET', route: '/x', statusCode: 200, durationSeconds: 1 })
      metrics.recordLlmCall({
        provider: 'openai',
        model: 'gpt-4o',
        durationSeconds: 1,
        usage: { inputTokens: 10 },
      })
    }
    const om = openMetricsRegistry()
    const plain = new Registry()
    record(om)
    record(plain)
    expect(await prometheusText(om)).toBe(await plain.metrics())
  })

  it('renames nothing: after a scrape the registry JSON (what a cluster worker sends) still names aikit_cache_lookups_total', async () => {
    const registry = openMetricsRegistry()
    const metrics = createMetrics({ registry })
    metrics.recordCache({ result: 'hit' })
    const base = await nodeApp([metricsHandler(metrics)])
    await (await fetch(`${base}/metrics`)).text()
    await (await fetch(`${base}/metrics`, { headers: { accept: OM_ACCEPT } })).text()
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name)
    expect(names).toContain('aikit_cache_lookups_total')
    // …and the next text scrape still names the samples and the family alike.
    const again = await (await fetch(`${base}/metrics`)).text()
    expect(again).toContain('# TYPE aikit_cache_lookups_total counter')
  })
})

describe('OpenMetrics 1.0 text', () => {
  it('has no empty line: a cluster primary with no worker connected serves exactly "# EOF\\n"', async () => {
    // OM ABNF: exposition = metricset HASH SP eof [ LF ]; no rule produces an empty line.
    const base = await nodeApp([clusterMetricsHandler()])
    const res = await fetch(`${base}/metrics`, { headers: { accept: OM_ACCEPT } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(OPENMETRICS_CONTENT_TYPE)
    const body = await res.text()
    expect(body.split('\n').slice(0, -1)).not.toContain('')
    expect(body).toBe('# EOF\n')
  })

  it('renders histogram le values as canonical numbers ("1.0", "10.0", "1.048576e+06"), as OM 1.0 requires', async () => {
    // OM 1.0, Histogram: "the value of the "le" label MUST follow the rules for Canonical Numbers"
    // (Go %g with ".0" appended when there is no decimal point or exponent: 1.0, 10.0, 1e+06).
    const metrics = createMetrics({ key: false })
    metrics.recordHttpRequest({ method: 'GET', route: '/x', statusCode: 200, durationSeconds: 0.2 })
    metrics.recordLlmCall({
      provider: 'openai',
      model: 'gpt-4o',
      durationSeconds: 1,
      usage: { inputTokens: 10 },
    })
    const base = await nodeApp([metricsHandler(metrics)])
    const om = await (await fetch(`${base}/metrics`, { headers: { accept: OM_ACCEPT } })).text()
    expect(labelValues(om, 'http_server_request_duration_seconds_bucket', 'le')).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.075',
      '0.1',
      '0.25',
      '0.5',
      '0.75',
      '1.0',
      '2.5',
      '5.0',
      '7.5',
      '10.0',
      '20.0',
      '40.0',
      '80.0',
      '+Inf',
    ])
    expect(labelValues(om, 'gen_ai_client_token_usage_bucket', 'le')).toEqual([
      '1.0',
      '4.0',
      '16.0',
      '64.0',
      '256.0',
      '1024.0',
      '4096.0',
      '16384.0',
      '65536.0',
      '262144.0',
      '1.048576e+06',
      '4.194304e+06',
      '1.6777216e+07',
      '6.7108864e+07',
      '+Inf',
    ])
    // The text format keeps prom-client's rendering, and the same bucket counts.
    const text = await (await fetch(`${base}/metrics`)).text()
    expect(labelValues(text, 'http_server_request_duration_seconds_bucket', 'le')).toContain('1')
    expect(
      parseScrape(om)
        .filter((s) => s.name.endsWith('_bucket'))
        .map((s) => s.value)
    ).toEqual(
      parseScrape(text)
        .filter((s) => s.name.endsWith('_bucket'))
        .map((s) => s.value)
    )
  })

  it('renders le and quantile as canonical numbers where the labels are not le alone (cluster sums, summaries)', async () => {
    const registry = new Registry()
    registry.setDefaultLabels({ service: 'chat-api' })
    const h = new Histogram({
      name: 'job_seconds',
      help: 'h',
      labelNames: ['job'],
      buckets: [0.5, 1, 100000, 1000000],
      registers: [registry],
    })
    h.observe({ job: 'a' }, 0.7)
    const summary = new Summary({
      name: 'job_size',
      help: 's',
      percentiles: [0.5, 0.99, 1],
      registers: [registry],
    })
    summary.observe(3)
    // What a cluster primary renders: values with every label merged in, `le` among them.
    const summed = AggregatorRegistry.aggregate([await registry.getMetricsAsJSON()])
    for (const r of [registry, summed]) {
      const om = await openMetricsText(r)
      expect(labelValues(om, 'job_seconds_bucket', 'le')).toEqual([
        '0.5',
        '1.0',
        '100000.0',
        '1e+06',
        '+Inf',
      ])
      const samples = parseScrape(om)
      expect(
        sampleValue(samples, 'job_seconds_bucket', { le: '1.0', job: 'a', service: 'chat-api' })
      ).toBe(1)
      expect(labelValues(om, 'job_size', 'quantile')).toEqual(['0.5', '0.99', '1.0'])
      expect(om.endsWith('\n# EOF\n')).toBe(true)
    }
    // Rendering copied the values: the registry's own are untouched.
    const json = await registry.getMetricsAsJSON()
    const les = json.find((m) => m.name === 'job_seconds')!.values.map((v) => v.labels.le)
    expect(les).toEqual([0.5, 1, 100000, 1000000, '+Inf', undefined, undefined])
  })

  it('writes canonical numbers as Go %g with .0 when there is no point or exponent (the spec examples)', () => {
    // OM 1.0, Considerations: Canonical Numbers.
    const examples: [number, string][] = [
      [0, '0.0'],
      [0.001, '0.001'],
      [0.002, '0.002'],
      [0.01, '0.01'],
      [0.1, '0.1'],
      [0.9, '0.9'],
      [0.95, '0.95'],
      [0.99, '0.99'],
      [0.999, '0.999'],
      [1, '1.0'],
      [1.7, '1.7'],
      [10, '10.0'],
      [1e-10, '1e-10'],
      [1e-9, '1e-09'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [100000, '100000.0'],
      [1e6, '1e+06'],
      [1e10, '1e+10'],
      [1e100, '1e+100'],
      [123456.5, '123456.5'],
      [1234567.5, '1.2345675e+06'],
      [0.00011, '0.00011'],
      [0.000011, '1.1e-05'],
      [-2.5, '-2.5'],
      [-1048576, '-1.048576e+06'],
      [Number.POSITIVE_INFINITY, '+Inf'],
      [Number.NEGATIVE_INFINITY, '-Inf'],
    ]
    for (const [value, text] of examples)
      expect([value, canonicalNumber(value)]).toEqual([value, text])
  })
})
