/**
 * The cluster primary's sum of histograms whose workers disagree on buckets (a rolling deploy
 * changing `httpBuckets`): each summed series is served with ascending `le` and cumulative counts,
 * holding only the bounds every worker has (and `+Inf`), each the exact sum of the workers' counts.
 * `node:cluster` is replaced by a fake primary (as in cluster-label-cap.test.ts); the workers'
 * payloads are real `registry.getMetricsAsJSON()` of real metrics instances, sent through JSON as
 * IPC does.
 */
import cluster from 'node:cluster'
import type { EventEmitter } from 'node:events'
import { clusterMetricsHandler, createMetrics, type Metrics } from '@aikit/observability'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseScrape } from './parse-scrape.js'
import { closeAll, nodeApp } from './servers.js'

type FakeCluster = EventEmitter & { workers: Record<number, unknown> }

/**
 * The test process's own `node:cluster` (a primary with no worker) stands in for the primary: its
 * `workers` is replaced by fake workers, and their answers are emitted on it. Not `vi.mock`: the
 * shared project runs files in one module graph (isolate: false), so a mocked module would be the
 * one every later file's `clusterMetricsHandler` reads, fake workers included, and a later file's
 * mock factory would never run. Each test's workers are removed after it.
 */
const fake = { cluster: cluster as unknown }
const realWorkers = (fake.cluster as FakeCluster).workers
afterEach(() => {
  ;(fake.cluster as FakeCluster).workers = realWorkers
})

afterAll(closeAll)

const RESPONSE = 'aikit:observability:metrics-response'

function worker(cluster: FakeCluster, id: number, metrics: Metrics) {
  return {
    id,
    isConnected: () => true,
    send(req: { id: string }) {
      void metrics.registry.getMetricsAsJSON().then((payload) =>
        setTimeout(() =>
          cluster.emit(
            'message',
            { id },
            {
              type: RESPONSE,
              id: req.id,
              metrics: JSON.parse(JSON.stringify(payload)),
            }
          )
        )
      )
    },
  }
}

describe('clusterMetricsHandler: histograms with different buckets per worker', () => {
  it('serves each summed histogram series with ascending le and cumulative buckets, even when workers disagree on buckets (a rolling deploy changing httpBuckets)', async () => {
    const cluster = fake.cluster as FakeCluster
    const oldWorker = createMetrics({ key: false, httpBuckets: [0.1, 1] })
    const newWorker = createMetrics({ key: false, httpBuckets: [0.5, 5] })
    oldWorker.recordHttpRequest({
      method: 'GET',
      route: '/a',
      statusCode: 200,
      durationSeconds: 0.05,
    })
    newWorker.recordHttpRequest({
      method: 'GET',
      route: '/a',
      statusCode: 200,
      durationSeconds: 0.3,
    })
    newWorker.recordHttpRequest({
      method: 'GET',
      route: '/a',
      statusCode: 200,
      durationSeconds: 0.4,
    })
    cluster.workers = { 1: worker(cluster, 1, oldWorker), 2: worker(cluster, 2, newWorker) }
    const base = await nodeApp([clusterMetricsHandler()])
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    const buckets = parseScrape(await res.text()).filter(
      (s) => s.name === 'http_server_request_duration_seconds_bucket'
    )
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)))
    // le ascending...
    expect(les).toEqual([...les].sort((a, b) => a - b))
    // ...and cumulative (never a smaller count at a larger le)
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value)
    }
  })

  it('keeps the bounds every worker has, summed exactly, each series grouped', async () => {
    const cluster = fake.cluster as FakeCluster
    const oldWorker = createMetrics({ key: false, httpBuckets: [0.1, 0.5, 1] })
    const newWorker = createMetrics({ key: false, httpBuckets: [0.5, 1, 5] })
    const hit = (m: Metrics, route: string, durationSeconds: number) =>
      m.recordHttpRequest({ method: 'GET', route, statusCode: 200, durationSeconds })
    hit(oldWorker, '/a', 0.05)
    hit(newWorker, '/a', 0.3)
    hit(newWorker, '/a', 0.7)
    hit(newWorker, '/a', 3)
    hit(newWorker, '/b', 0.2)
    cluster.workers = { 1: worker(cluster, 1, oldWorker), 2: worker(cluster, 2, newWorker) }
    const base = await nodeApp([clusterMetricsHandler()])
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    const samples = parseScrape(await res.text()).filter((s) =>
      s.name.startsWith('http_server_request_duration_seconds_')
    )
    const series = (route: string) =>
      samples
        .filter((s) => s.labels.http_route === route)
        .map((s) => [
          s.name.replace('http_server_request_duration_seconds_', ''),
          s.labels.le,
          s.value,
        ])
    expect(series('/a')).toEqual([
      ['bucket', '0.5', 2],
      ['bucket', '1', 3],
      ['bucket', '+Inf', 4],
      ['sum', undefined, expect.closeTo(4.05, 6)],
      ['count', undefined, 4],
    ])
    expect(series('/b')).toEqual([
      ['bucket', '0.5', 1],
      ['bucket', '1', 1],
      ['bucket', '+Inf', 1],
      ['sum', undefined, expect.closeTo(0.2, 6)],
      ['count', undefined, 1],
    ])
    // Each series' samples are contiguous (one group per series, as a strict parser requires).
    const routes = samples.map((s) => s.labels.http_route)
    expect(routes).toEqual([...routes].sort())
  })
})
