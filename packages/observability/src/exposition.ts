/**
 * @module exposition
 * The registry as Prometheus text or OpenMetrics. prom-client's own OpenMetrics path renames every
 * counter in place (strips `_total`, for good), which would corrupt the next Prometheus-text scrape
 * of the same registry; here each metric is rendered through a throwaway OpenMetrics registry with
 * the stripped name on a copy, so both formats can be served from one registry.
 */
import { Registry } from 'prom-client'

/** Content type of the Prometheus text format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE
/** Content type of OpenMetrics 1.0.0. */
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE

interface MetricData {
  name: string
  type: string
}
interface RenderableMetric {
  name: string
  type: string
  get(): Promise<MetricData>
  getForPromString?(): Promise<MetricData>
}

/** The registry in the Prometheus text format (prom-client's own renderer). */
export function prometheusText(registry: Registry): Promise<string> {
  return registry.metrics()
}

/** The registry in OpenMetrics 1.0 text, ending with `# EOF`. */
export async function openMetricsText(registry: Registry): Promise<string> {
  const om = new Registry<typeof OPENMETRICS_CONTENT_TYPE>()
  om.setContentType(OPENMETRICS_CONTENT_TYPE)
  // getMetricsAsString is public in prom-client's JS but missing from its typings.
  const renderer = om as unknown as { getMetricsAsString(metric: unknown): Promise<string> }
  const metrics = registry.getMetricsAsArray() as unknown as RenderableMetric[]
  const parts = await Promise.all(
    metrics.map((metric) => {
      if (metric.type !== 'counter' || !metric.name.endsWith('_total')) {
        return renderer.getMetricsAsString(metric)
      }
      const name = metric.name.slice(0, -'_total'.length)
      const view = {
        async get(): Promise<MetricData> {
          const data = await (metric.getForPromString?.() ?? metric.get())
          return { ...data, name }
        },
      }
      return renderer.getMetricsAsString(view)
    })
  )
  return `${parts.join('\n')}\n# EOF\n`
}

/**
 * True when the `Accept` header ranks OpenMetrics above the Prometheus text format (q-values
 * honoured; an absent header or `*\/*` alone means Prometheus text).
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined || !accept.includes('openmetrics')) return false
  let om = -1
  let text = -1
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';')
    const mediaType = type.trim().toLowerCase()
    let q = 1
    for (const p of params) {
      const [k, v] = p.split('=')
      if (k?.trim() === 'q' && v !== undefined) {
        const n = Number(v.trim())
        if (Number.isFinite(n)) q = n
      }
    }
    if (mediaType === 'application/openmetrics-text') om = Math.max(om, q)
    else if (mediaType === 'text/plain') text = Math.max(text, q)
  }
  return om > 0 && om >= text
}
