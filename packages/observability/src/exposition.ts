/**
 * @module exposition
 * The registry as Prometheus text or OpenMetrics, without changing it. prom-client renders a
 * registry in the format it was created with (`new Registry(OPENMETRICS_CONTENT_TYPE)` is needed for
 * exemplars), and its OpenMetrics path renames every counter in place (strips `_total`, for good),
 * which would rename the counters of every later Prometheus-text scrape and of the JSON a cluster
 * worker sends. Here a format the registry was not created with is rendered metric by metric
 * through a throwaway registry of the wanted format (counters' OpenMetrics family name on a copy),
 * so one registry serves both formats. OpenMetrics `le` / `quantile` label values are written as
 * canonical numbers (`1.0`, `1e+06`), as OpenMetrics 1.0 requires.
 */
import { Registry, type RegistryContentType } from 'prom-client'
import { canonicalNumber } from './canonical-number.js'
import { type DefaultLabels, OPENMETRICS_DATA, RENDER_TEXT } from './metrics/fast-instruments.js'

/** Content type of the Prometheus text format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE
/** Content type of OpenMetrics 1.0.0. */
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE

interface MetricValue {
  labels?: Record<string, string | number>
}
interface MetricData {
  name: string
  type: string
  values?: MetricValue[]
}
interface RenderableMetric {
  name: string
  type: string
  get(): Promise<MetricData>
  getForPromString?(): Promise<MetricData>
  /** Our own histograms' values with canonical `le` values already (fast-instruments.ts). */
  [OPENMETRICS_DATA]?(): Promise<MetricData>
  /** Our own histograms' exposition text (fast-instruments.ts). */
  [RENDER_TEXT]?(openMetrics: boolean, defaults: DefaultLabels | undefined): string
}
/** What a registry renders one metric with: public in prom-client's JS, missing from its typings. */
interface Renderer {
  getMetricsAsString(metric: unknown): Promise<string>
}

/**
 * The default labels of a registry. prom-client has a setter but no getter: they live in its
 * `_defaultLabels` field (read guarded: a plain object of label values, else none).
 */
function defaultLabelsOf(
  registry: Registry<RegistryContentType>
): Record<string, string | number> | undefined {
  const labels = (registry as unknown as { _defaultLabels?: unknown })._defaultLabels
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return undefined
  for (const _ in labels) return { ...(labels as Record<string, string | number>) }
  return undefined
}

/** A throwaway registry rendering in `contentType`, with the source registry's default labels. */
function rendererFor(
  registry: Registry<RegistryContentType>,
  contentType: RegistryContentType
): Renderer {
  const renderer = new Registry<RegistryContentType>()
  renderer.setContentType(contentType)
  // The default labels (`setDefaultLabels({ service })`) are applied when a registry renders, so
  // the throwaway one needs them too.
  const defaults = defaultLabelsOf(registry)
  if (defaults !== undefined) renderer.setDefaultLabels(defaults)
  return renderer as unknown as Renderer
}

function metricsOf(registry: Registry<RegistryContentType>): RenderableMetric[] {
  return registry.getMetricsAsArray() as unknown as RenderableMetric[]
}

/** A Prometheus label name: what the label order of prom-client's merged objects is safe for. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/**
 * The registry's default labels for our own renderer (`RENDER_TEXT`): `undefined` for none, `null`
 * when one has a name that is not a label name (an integer-like key would change prom-client's
 * order of the merged labels): the registry is then rendered by prom-client alone.
 */
function fastDefaults(registry: Registry<RegistryContentType>): DefaultLabels | undefined | null {
  const defaults = defaultLabelsOf(registry)
  if (defaults === undefined) return undefined
  for (const name of Object.keys(defaults)) if (!LABEL_NAME.test(name)) return null
  return defaults
}

/** The registry in the Prometheus text format 0.0.4, whatever format it was created with. */
export async function prometheusText(registry: Registry<RegistryContentType>): Promise<string> {
  const metrics = metricsOf(registry)
  const defaults = fastDefaults(registry)
  const fast = defaults !== null && metrics.some((m) => typeof m[RENDER_TEXT] === 'function')
  // prom-client's own renderer, when it renders this format (it then changes nothing).
  if (!fast && registry.contentType !== OPENMETRICS_CONTENT_TYPE) return registry.metrics()
  const renderer =
    registry.contentType === OPENMETRICS_CONTENT_TYPE
      ? rendererFor(registry, PROMETHEUS_CONTENT_TYPE)
      : (registry as unknown as Renderer)
  const parts = await Promise.all(
    metrics.map((m) =>
      fast && typeof m[RENDER_TEXT] === 'function'
        ? m[RENDER_TEXT](false, defaults ?? undefined)
        : renderer.getMetricsAsString(m)
    )
  )
  // As prom-client's `metrics()` joins them in this format.
  return `${parts.join('\n\n')}\n`
}

/** The label holding a canonical number, per metric type (OpenMetrics 1.0, Canonical Numbers). */
const NUMBER_LABEL: Record<string, string | undefined> = { histogram: 'le', summary: 'quantile' }

/** One `{ le: "1.0" }` object per label and bound, shared by every bucket line with no other label. */
const soleLabelCache = new Map<string, Map<string, Readonly<Record<string, string>>>>()

function soleLabel(label: string, value: number): Readonly<Record<string, string>> {
  const text = canonicalNumber(value)
  let byText = soleLabelCache.get(label)
  if (byText === undefined) {
    byText = new Map()
    soleLabelCache.set(label, byText)
  }
  let labels = byText.get(text)
  if (labels === undefined) {
    labels = Object.freeze({ [label]: text })
    // Bounded like canonicalNumber's cache: a histogram has a fixed handful of bounds.
    if (byText.size < 4096) byText.set(text, labels)
  }
  return labels
}

/** `data` with the numeric `label` of each value as a canonical number (copies, never in place). */
function withCanonicalLabel(data: MetricData, label: string): MetricData {
  const values = data.values
  if (values === undefined) return data
  const out = new Array<MetricValue>(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    const labels = v.labels
    const n = labels?.[label]
    if (typeof n !== 'number') {
      out[i] = v
      continue
    }
    // prom-client's histograms give `{ le }` alone (the other labels are shared): no copy then.
    let only = true
    for (const key in labels) {
      if (key !== label) {
        only = false
        break
      }
    }
    out[i] = {
      ...v,
      labels: only ? soleLabel(label, n) : { ...labels, [label]: canonicalNumber(n) },
    }
  }
  return { ...data, values: out }
}

/**
 * What the OpenMetrics renderer is given for `metric`: the metric itself, or a view of it with the
 * counter's family name (without `_total`, which prom-client appends to its samples) and canonical
 * `le` / `quantile` values.
 */
function openMetricsView(metric: RenderableMetric): unknown {
  if (typeof metric[OPENMETRICS_DATA] === 'function') {
    return { get: () => metric[OPENMETRICS_DATA]!() }
  }
  const label = NUMBER_LABEL[metric.type]
  const rename = metric.type === 'counter' && metric.name.endsWith('_total')
  if (label === undefined && !rename) return metric
  const name = rename ? metric.name.slice(0, -'_total'.length) : metric.name
  return {
    async get(): Promise<MetricData> {
      const data = await (metric.getForPromString?.() ?? metric.get())
      const renamed = rename ? { ...data, name } : data
      return label === undefined ? renamed : withCanonicalLabel(renamed, label)
    },
  }
}

/** The registry in OpenMetrics 1.0 text, ending with `# EOF`. */
export async function openMetricsText(registry: Registry<RegistryContentType>): Promise<string> {
  const renderer = rendererFor(registry, OPENMETRICS_CONTENT_TYPE)
  const defaults = fastDefaults(registry)
  const parts = await Promise.all(
    metricsOf(registry).map((m) =>
      defaults !== null && typeof m[RENDER_TEXT] === 'function'
        ? m[RENDER_TEXT](true, defaults)
        : renderer.getMetricsAsString(openMetricsView(m))
    )
  )
  // No empty line anywhere (the OM ABNF has none): an empty registry is `# EOF` alone.
  return parts.length === 0 ? '# EOF\n' : `${parts.join('\n')}\n# EOF\n`
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
