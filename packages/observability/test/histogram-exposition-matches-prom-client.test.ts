/**
 * The HTTP duration histogram renders its own exposition text (a 10,000-series scrape took 1.2-1.4x
 * prom-client's own Histogram's time through prom-client's renderer). What it writes must be what
 * prom-client's `Registry.getMetricsAsString` writes for the same data, byte for byte, in both
 * formats and under any default labels: label values with quotes, backslashes and newlines, status
 * codes as numbers, `''` and `_other`, sums that overflow to +Inf, default labels that a series
 * label or `le` shadows.
 */
import { createMetrics, metricsHandler } from '@aikit/observability'
import fc from 'fast-check'
import { Registry, type RegistryContentType } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { openMetricsText, prometheusText } from '../src/exposition.js'
import { OPENMETRICS_DATA } from '../src/metrics/fast-instruments.js'

const HISTOGRAM = 'http_server_request_duration_seconds'

interface Recorded {
  method: string
  route: string
  statusCode: number
  errorType: string
  durationSeconds: number
}

/** A metric as prom-client's renderer takes it. */
interface Renderable {
  getForPromString(): Promise<unknown>
  [OPENMETRICS_DATA](): Promise<unknown>
}

/** prom-client's own rendering of `metric` in a registry of `contentType` with `defaults`. */
async function promClientText(
  metric: Renderable,
  contentType: RegistryContentType,
  defaults: Record<string, string | number> | undefined
): Promise<string> {
  const registry = new Registry<RegistryContentType>()
  registry.setContentType(contentType)
  if (defaults !== undefined) registry.setDefaultLabels(defaults)
  const renderer = registry as unknown as { getMetricsAsString(m: unknown): Promise<string> }
  // OpenMetrics: the histogram's values with canonical `le` values, as the exposition gave them.
  return contentType === Registry.OPENMETRICS_CONTENT_TYPE
    ? renderer.getMetricsAsString({ get: () => metric[OPENMETRICS_DATA]() })
    : renderer.getMetricsAsString(metric)
}

/** The histogram's block of a whole exposition document. */
function histogramBlock(document: string, openMetrics: boolean): string {
  const start = document.indexOf(`# HELP ${HISTOGRAM} `)
  expect(start).toBeGreaterThanOrEqual(0)
  const end = document.indexOf(openMetrics ? '\n# HELP ' : '\n\n# HELP ', start)
  return document.slice(start, end === -1 ? undefined : end)
}

const text = fc.oneof(
  fc.constantFrom('', '"', '\\', '\n', '/chat/:id', 'a"b\\c\nd', '_other', 'é✓'),
  fc.string({ maxLength: 12 })
)
const recorded: fc.Arbitrary<Recorded> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'BREW'),
  route: text,
  statusCode: fc.oneof(fc.constantFrom(200, 404, 500), fc.integer({ min: 0, max: 700 })),
  errorType: text,
  durationSeconds: fc.oneof(
    fc.constantFrom(0, 0.005, 80, 1e308),
    fc.double({ min: 0, max: 1e6, noNaN: true })
  ),
})
const defaultLabels = fc.option(
  fc.dictionary(
    fc.constantFrom('service', 'le', 'http_route', 'error_type', 'region', 'zone_2'),
    fc.oneof(text, fc.integer()),
    { minKeys: 1, maxKeys: 4 }
  ),
  { nil: undefined }
)

describe('the HTTP duration histogram exposition', () => {
  it('is what prom-client renders for the same data, in both formats, under any default labels', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recorded, { maxLength: 40 }),
        defaultLabels,
        fc.boolean(),
        async (records, defaults, openMetricsRegistry) => {
          const registry = new Registry<RegistryContentType>()
          if (openMetricsRegistry) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
          if (defaults !== undefined) registry.setDefaultLabels(defaults)
          const metrics = createMetrics({ registry, maxLabelValues: 8 })
          for (const r of records) metrics.recordHttpRequest(r)
          const histogram = registry.getSingleMetric(HISTOGRAM) as unknown as Renderable

          const text = histogramBlock(await prometheusText(registry), false)
          expect(text).toBe(
            await promClientText(histogram, Registry.PROMETHEUS_CONTENT_TYPE, defaults)
          )
          const om = histogramBlock(await openMetricsText(registry), true)
          expect(om).toBe(
            await promClientText(histogram, Registry.OPENMETRICS_CONTENT_TYPE, defaults)
          )
        }
      ),
      { numRuns: 150 }
    )
  })

  it('writes a sum past the largest double as prom-client does (+Inf)', async () => {
    const metrics = createMetrics({ registry: new Registry() })
    const r = { method: 'GET', route: '/a', statusCode: 200, durationSeconds: 1e308 }
    metrics.recordHttpRequest(r)
    metrics.recordHttpRequest(r)
    const block = histogramBlock(await prometheusText(metrics.registry), false)
    expect(block).toContain(`${HISTOGRAM}_sum{`)
    expect(block).toMatch(/_sum\{[^}]*\} \+Inf$/m)
    const histogram = metrics.registry.getSingleMetric(HISTOGRAM) as unknown as Renderable
    expect(block).toBe(await promClientText(histogram, Registry.PROMETHEUS_CONTENT_TYPE, undefined))
  })

  it('renders an empty histogram as its HELP and TYPE lines alone', async () => {
    const metrics = createMetrics({ registry: new Registry() })
    const block = histogramBlock(await prometheusText(metrics.registry), false)
    expect(block.split('\n')).toHaveLength(2)
    expect(block).toMatch(new RegExp(`^# HELP ${HISTOGRAM} .+\n# TYPE ${HISTOGRAM} histogram$`))
    const histogram = metrics.registry.getSingleMetric(HISTOGRAM) as unknown as Renderable
    expect(block).toBe(await promClientText(histogram, Registry.PROMETHEUS_CONTENT_TYPE, undefined))
  })

  it('is served by metricsHandler as the whole document prom-client would give', async () => {
    const metrics = createMetrics({ registry: new Registry() })
    metrics.registry.setDefaultLabels({ service: 'chat "api"' })
    metrics.recordHttpRequest({
      method: 'POST',
      route: '/chat/:id',
      statusCode: 200,
      durationSeconds: 0.3,
    })
    let body = ''
    const ctx = {
      path: '/metrics',
      method: 'GET',
      header: () => undefined,
      respond: (_status: number, b: string) => {
        body = b
      },
    }
    await metricsHandler(metrics)(ctx as never, async () => {})
    // prom-client's registry.metrics() renders every metric through getForPromString.
    expect(body).toBe(await metrics.registry.metrics())
    expect(body).toContain(
      `${HISTOGRAM}_bucket{le="0.5",service="chat \\"api\\"",http_request_method="POST",http_route="/chat/:id",http_response_status_code="200",error_type=""} 1`
    )
  })
})
