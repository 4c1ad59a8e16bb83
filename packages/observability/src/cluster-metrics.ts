/**
 * @module cluster-metrics
 * Node cluster aggregation over IPC. Each worker answers the primary's request with its private
 * registry as JSON (`serveClusterMetrics(metrics)`); the primary asks every connected worker and
 * sums the answers with prom-client's `AggregatorRegistry.aggregate` (each metric's own
 * `aggregator`: counters and histograms summed). prom-client's `clusterMetrics()` is not used: it
 * answers from one process-wide list of registries (`setRegistries`), renders Prometheus text only,
 * and would not cap the labels of the union (each worker caps its own label values, but N workers
 * can each see different ones).
 */
import cluster from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'
import { assertMetrics } from './http-metrics.js'
import type { Metrics } from './metrics/create-metrics.js'
import { METRIC_NAMES, OTHER_VALUE } from './metrics/names.js'

const REQUEST = 'aikit:observability:metrics-request'
const RESPONSE = 'aikit:observability:metrics-response'

/** Labels whose values are part of a series' shape, never capped. */
const STRUCTURAL_LABELS = new Set(['le', 'quantile'])

/** One metric as `registry.getMetricsAsJSON()` gives it (what crosses the IPC channel). */
interface MetricJson {
  name: string
  help: string
  type: string
  aggregator: string
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[]
}

interface MetricsRequest {
  type: typeof REQUEST
  id: string
}
interface MetricsResponse {
  type: typeof RESPONSE
  id: string
  metrics?: MetricJson[]
  error?: string
}

interface WorkerState {
  registries: Set<Registry>
  /** Stops listening on the IPC channel (set by the copy of the package that listens). */
  stop?: () => void
}

const WORKER_STATE = Symbol.for('@aikit/observability.cluster-worker.v1')

/**
 * In a cluster worker (or any process forked with an IPC channel): answers the primary's scrape
 * requests with `metrics`' registry. Several instances in one worker are all answered. Returns a
 * function that stops answering for this instance; once no instance is served, the worker stops
 * listening on the IPC channel, so it no longer keeps the process alive. Without an IPC channel it
 * does nothing.
 */
export function serveClusterMetrics(metrics: Metrics): () => void {
  assertMetrics(metrics)
  if (typeof process.send !== 'function') return () => {}
  const g = globalThis as unknown as Record<symbol, WorkerState | undefined>
  let state = g[WORKER_STATE]
  if (state === undefined) {
    const created: WorkerState = { registries: new Set() }
    state = created
    g[WORKER_STATE] = created
    const onMessage = (message: unknown): void => {
      const m = message as Partial<MetricsRequest> | null
      if (m === null || typeof m !== 'object' || m.type !== REQUEST || typeof m.id !== 'string') {
        return
      }
      const id = m.id
      Promise.all([...created.registries].map((r) => r.getMetricsAsJSON()))
        .then((all) =>
          reply({ type: RESPONSE, id, metrics: all.flat() as unknown as MetricJson[] })
        )
        .catch((error: unknown) =>
          reply({ type: RESPONSE, id, error: error instanceof Error ? error.message : 'failed' })
        )
    }
    process.on('message', onMessage)
    created.stop = () => {
      process.off('message', onMessage)
      if (g[WORKER_STATE] === created) g[WORKER_STATE] = undefined
    }
  }
  const served = state
  served.registries.add(metrics.registry)
  return () => {
    served.registries.delete(metrics.registry)
    if (served.registries.size === 0) served.stop?.()
  }
}

function reply(response: MetricsResponse): void {
  // The primary may have gone; a failed send must not crash the worker.
  process.send?.(response, undefined, undefined, () => {})
}

/** Options of the primary's aggregation. */
export interface ClusterAggregationOptions {
  /** Milliseconds to wait for every worker; a worker that has not answered fails the scrape. */
  timeoutMs: number
  /**
   * The cap on the distinct values of each label of each metric in the sum (as in
   * `createMetrics`), kept by the handler from one scrape to the next.
   */
  cap: LabelCap
}

/** Folded values remembered per metric and label, so each is counted once in the overflow counter. */
const MAX_FOLDED_REMEMBERED = 10_000

/**
 * The cluster primary's cap on label values, kept across scrapes as `LabelGuard` keeps it in a
 * worker: the values kept are the first ones seen since the handler was made, whatever order the
 * workers answer a scrape in, so a series never moves in or out of `_other` from one scrape to the
 * next (which would make series vanish and `_other`'s counters go down: counter resets).
 */
export class LabelCap {
  /** Kept values per `metric\u0001label`. */
  private readonly kept = new Map<string, Set<string>>()
  /** Values folded into `_other` per `metric\u0001label` (bounded), and how many were counted. */
  private readonly folded = new Map<string, { values: Set<string>; count: number }>()

  constructor(private readonly max: number) {}

  /** Folds the label values past the cap into `_other`, in place. */
  apply(perWorker: MetricJson[][]): void {
    for (const metrics of perWorker) {
      for (const metric of metrics) {
        for (const v of metric.values) {
          for (const [label, raw] of Object.entries(v.labels)) {
            if (STRUCTURAL_LABELS.has(label)) continue
            const value = String(raw)
            if (value === OTHER_VALUE) continue
            const key = `${metric.name}\u0001${label}`
            let seen = this.kept.get(key)
            if (seen === undefined) {
              seen = new Set()
              this.kept.set(key, seen)
            }
            if (seen.has(value)) continue
            if (seen.size < this.max) {
              seen.add(value)
              continue
            }
            v.labels = { ...v.labels, [label]: OTHER_VALUE }
            let folded = this.folded.get(key)
            if (folded === undefined) {
              folded = { values: new Set(), count: 0 }
              this.folded.set(key, folded)
            }
            if (!folded.values.has(value) && folded.values.size < MAX_FOLDED_REMEMBERED) {
              folded.values.add(value)
              folded.count++
            }
          }
        }
      }
    }
  }

  /** Distinct values folded so far per `metric\u0001label` (never goes down: a counter). */
  counts(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const [key, { count }] of this.folded) counts.set(key, count)
    return counts
  }
}

let sequence = 0

/** Asks every connected worker for its metrics; resolves with one metric list per worker. */
function collectFromWorkers(timeoutMs: number): Promise<MetricJson[][]> {
  const workers = Object.values(cluster.workers ?? {}).filter(
    (w): w is NonNullable<typeof w> => w?.isConnected() === true
  )
  if (workers.length === 0) return Promise.resolve([])
  const id = `${process.pid}:${++sequence}`
  return new Promise((resolve, reject) => {
    const asked = new Set(workers.map((w) => w.id))
    const answers = new Map<number, MetricJson[]>()
    const finish = (error?: Error): void => {
      clearTimeout(timer)
      cluster.off('message', onMessage)
      cluster.off('exit', onExit)
      if (error) reject(error)
      // In worker order, not arrival order: the same scrape reads the same on every run.
      else resolve([...answers].sort(([a], [b]) => a - b).map(([, metrics]) => metrics))
    }
    const onMessage = (worker: { id: number }, message: unknown): void => {
      const m = message as Partial<MetricsResponse> | null
      if (m === null || typeof m !== 'object' || m.type !== RESPONSE || m.id !== id) return
      if (!asked.has(worker.id)) return
      if (m.error !== undefined) {
        finish(new Error(`worker ${worker.id}: ${m.error}`))
        return
      }
      answers.set(worker.id, Array.isArray(m.metrics) ? m.metrics : [])
      if (answers.size === workers.length) finish()
    }
    // A worker that was asked and dies mid-scrape will never answer: fail now rather than at the
    // timeout. One that was not asked (already disconnected, on its way out) changes nothing.
    const onExit = (worker: { id: number }): void => {
      if (asked.has(worker.id) && !answers.has(worker.id)) {
        finish(new Error(`worker ${worker.id} exited during the scrape`))
      }
    }
    const timer = setTimeout(
      () => finish(new Error(`${workers.length - answers.size} worker(s) did not answer in time`)),
      timeoutMs
    )
    cluster.on('message', onMessage)
    cluster.on('exit', onExit)
    const request: MetricsRequest = { type: REQUEST, id }
    for (const w of workers) w.send(request)
  })
}

/** The overflow counter entries for the values folded in the sum (added to the workers' own). */
function overflowMetric(perWorker: MetricJson[][], folded: Map<string, number>): MetricJson[] {
  if (folded.size === 0) return []
  const existing = perWorker.flat().find((m) => m.name.endsWith(METRIC_NAMES.labelOverflow))
  const name = existing?.name ?? METRIC_NAMES.labelOverflow
  const values = [...folded].map(([key, value]) => {
    const [metric = '', label = ''] = key.split('\u0001')
    return { value, labels: { metric, label } }
  })
  const help = existing?.help ?? 'Label values replaced by _other because a label hit its cap.'
  return [{ name, help, type: 'counter', aggregator: 'sum', values }]
}

/** A bucket's upper bound as a number, for ordering (`'+Inf'` and a numeric `le` alike). */
function boundOf(le: string | number): number {
  return le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le)
}

/**
 * Keeps, in place, only the histogram buckets whose `le` every worker reporting that histogram has
 * (`+Inf` always is), in ascending `le` order. Workers can disagree on buckets (a rolling deploy
 * changing `httpBuckets`): summed as they are, the series would get bounds in first-seen order and
 * counts that are not cumulative (a bound only some workers have counts only their observations),
 * which a scraper rejects or misreads. A bound every worker has sums exactly (each count is
 * "observations ≤ le"), so dropping the others loses resolution, never correctness.
 */
function keepCommonBuckets(perWorker: MetricJson[][]): void {
  // Per histogram name: the bounds common to the workers that reported any bucket of it so far.
  const common = new Map<string, Set<string>>()
  for (const metrics of perWorker) {
    for (const metric of metrics) {
      if (metric.type !== 'histogram') continue
      const bounds = new Set<string>()
      for (const v of metric.values) {
        if (v.metricName?.endsWith('_bucket') && v.labels.le !== undefined) {
          bounds.add(String(v.labels.le))
        }
      }
      // A worker with no series of this histogram yet says nothing about its buckets.
      if (bounds.size === 0) continue
      const seen = common.get(metric.name)
      if (seen === undefined) common.set(metric.name, bounds)
      else for (const b of seen) if (!bounds.has(b)) seen.delete(b)
    }
  }
  for (const metrics of perWorker) {
    for (const metric of metrics) {
      const keep = common.get(metric.name)
      if (metric.type !== 'histogram' || keep === undefined) continue
      const values: MetricJson['values'] = []
      let run: MetricJson['values'] = []
      // Each series' buckets are one run (then its `_sum` and `_count`): filtered and ordered by
      // bound within the run, so the series stay grouped as the workers wrote them.
      const flush = (): void => {
        run.sort(
          (a, b) =>
            boundOf(a.labels.le as string | number) - boundOf(b.labels.le as string | number)
        )
        values.push(...run)
        run = []
      }
      for (const v of metric.values) {
        if (v.metricName?.endsWith('_bucket') === true && v.labels.le !== undefined) {
          if (keep.has(String(v.labels.le))) run.push(v)
        } else {
          flush()
          values.push(v)
        }
      }
      flush()
      metric.values = values
    }
  }
}

/** Every worker's metrics summed, as a registry to render. */
export async function aggregateCluster(options: ClusterAggregationOptions): Promise<Registry> {
  const perWorker = await collectFromWorkers(options.timeoutMs)
  keepCommonBuckets(perWorker)
  options.cap.apply(perWorker)
  return AggregatorRegistry.aggregate([
    ...perWorker,
    overflowMetric(perWorker, options.cap.counts()),
  ])
}
