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

/**
 * The default labels of a registry. prom-client has a setter but no getter: they live in its
 * `_defaultLabels` field (read guarded: a plain object of label values, else none).
 */
function defaultLabelsOf(registry: Registry): Record<string, string | number> | undefined {
  const labels = (registry as unknown as { _defaultLabels?: unknown })._defaultLabels
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return undefined
  for (const _ in labels) return { ...(labels as Record<string, string | number>) }
  return undefined
}

/** The registry in OpenMetrics 1.0 text, ending with `# EOF`. */
export async function openMetricsText(registry: Registry): Promise<string> {
  const om = new Registry<typeof OPENMETRICS_CONTENT_TYPE>()
  om.setContentType(OPENMETRICS_CONTENT_TYPE)
  // The source registry's default labels (`setDefaultLabels({ service })`) are applied when a
  // registry renders, so the throwaway one needs them too.
  const defaults = defaultLabelsOf(registry)
  if (defaults !== undefined) om.setDefaultLabels(defaults)
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
 * True when the `Accept` header ranks OpenMetrics above the Prometheus text format. Media types
 * and parameter names are case-insensitive (RFC 9110 §8.3.1, §12.4.2); q-values are honoured; the
 * text format's q is that of the most specific range naming it (`text/plain`, else `text/*`, else
 * `*\/*`). An absent header, or one that does not name OpenMetrics, means Prometheus text; a tie
 * goes to OpenMetrics (the scraper named it).
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined) return false
  const header = accept.toLowerCase()
  if (!header.includes('openmetrics')) return false
  let om = -1
  let textPlain = -1
  let textAny = -1
  let any = -1
  for (const part of header.split(',')) {
    const [type = '', ...params] = part.split(';')
    const mediaType = type.trim()
    let q = 1
    for (const p of params) {
      const eq = p.indexOf('=')
      if (eq === -1 || p.slice(0, eq).trim() !== 'q') continue
      const n = Number(p.slice(eq + 1).trim())
      if (Number.isFinite(n)) q = n
    }
    if (mediaType === 'application/openmetrics-text') om = Math.max(om, q)
    else if (mediaType === 'text/plain') textPlain = Math.max(textPlain, q)
    else if (mediaType === 'text/*') textAny = Math.max(textAny, q)
    else if (mediaType === '*/*') any = Math.max(any, q)
  }
  const text = textPlain !== -1 ? textPlain : textAny !== -1 ? textAny : any
  return om > 0 && om >= text
}
