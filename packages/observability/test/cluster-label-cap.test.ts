/**
 * The cluster primary's label cap and its bookkeeping of the workers it asked, with `node:cluster`
 * replaced by a fake primary whose workers answer in the order (and at the time) a test chooses.
 * The workers' payloads are real `registry.getMetricsAsJSON()` of real metrics instances.
 * (test/cluster-metrics.test.ts runs the same handler over real processes.)
 */
import type { EventEmitter } from 'node:events'
import { clusterMetricsHandler, createMetrics, type Metrics } from '@aikit/observability'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { parseScrape, sampleValue } from './parse-scrape.js'
import { closeAll, nodeApp } from './servers.js'

type FakeCluster = EventEmitter & { workers: Record<number, unknown> }

const fake = vi.hoisted(() => ({ cluster: undefined as unknown }))
vi.mock('node:cluster', async () => {
  const { EventEmitter: EE } = await import('node:events')
  const c = new EE() as FakeCluster
  c.workers = {}
  fake.cluster = c
  return { default: c }
})

afterAll(closeAll)

const RESPONSE = 'aikit:observability:metrics-response'

/** A connected worker answering with `metrics`' registry after `delays[id]` ms. */
function worker(
  cluster: FakeCluster,
  id: number,
  metrics: Metrics,
  delays: Record<number, number>
) {
  return {
    id,
    isConnected: () => true,
    send(req: { id: string }) {
      void metrics.registry
        .getMetricsAsJSON()
        .then((payload) =>
          setTimeout(
            () => cluster.emit('message', { id }, { type: RESPONSE, id: req.id, metrics: payload }),
            delays[id]
          )
        )
    },
  }
}

describe('clusterMetricsHandler label cap across scrapes', () => {
  it('keeps the same series from one scrape to the next, whatever order workers answer in', async () => {
    const cluster = fake.cluster as FakeCluster
    const w1 = createMetrics({ key: false })
    const w2 = createMetrics({ key: false })
    for (let i = 0; i < 10; i++) {
      w1.recordLlmCall({ provider: 'openai', model: 'm-a', durationSeconds: 1 })
      w1.recordLlmCall({ provider: 'openai', model: 'm-b', durationSeconds: 1 })
    }
    w2.recordLlmCall({ provider: 'openai', model: 'm-c', durationSeconds: 1 })
    w2.recordLlmCall({ provider: 'openai', model: 'm-d', durationSeconds: 1 })
    const delays: Record<number, number> = { 1: 0, 2: 20 }
    cluster.workers = { 1: worker(cluster, 1, w1, delays), 2: worker(cluster, 2, w2, delays) }

    const base = await nodeApp([clusterMetricsHandler({ maxLabelValues: 3 })])
    const scrape = async () => {
      const res = await fetch(`${base}/metrics`)
      expect(res.status).toBe(200)
      const series = parseScrape(await res.text())
      const counts = series.filter(
        (s) => s.name === 'gen_ai_client_operation_duration_seconds_count'
      )
      return {
        models: Object.fromEntries(counts.map((s) => [s.labels.gen_ai_request_model, s.value])),
        overflow: sampleValue(series, 'aikit_metrics_label_overflow_total', {
          metric: 'gen_ai_client_operation_duration_seconds',
          label: 'gen_ai_request_model',
        }),
      }
    }

    const first = await scrape() // worker 1 answers first
    expect(first).toEqual({ models: { 'm-a': 10, 'm-b': 10, 'm-c': 1, _other: 1 }, overflow: 1 })
    delays[1] = 20
    delays[2] = 0
    // Worker 2 answers first now; no new traffic in between: the same series, the same values.
    expect(await scrape()).toEqual(first)

    // A new model seen by the worker that answers first still goes to `_other`: the kept values
    // are those first seen by this handler, and `_other` only grows (it is a counter).
    w2.recordLlmCall({ provider: 'openai', model: 'm-e', durationSeconds: 1 })
    expect(await scrape()).toEqual({
      models: { 'm-a': 10, 'm-b': 10, 'm-c': 1, _other: 2 },
      overflow: 2,
    })
  })

  it('a worker that was not asked (already disconnected) exiting mid-scrape does not fail the scrape', async () => {
    const cluster = fake.cluster as FakeCluster
    const m = createMetrics({ key: false })
    m.recordCache({ result: 'hit' })
    cluster.workers = {
      1: worker(cluster, 1, m, { 1: 30 }),
      // Rolling restart: worker 2 was told to disconnect and is on its way out.
      2: { id: 2, isConnected: () => false, send() {} },
    }
    const base = await nodeApp([clusterMetricsHandler()])
    const pending = fetch(`${base}/metrics`)
    await new Promise((r) => setTimeout(r, 10))
    cluster.emit('exit', { id: 2 }) // the retiring worker exits while worker 1 is answering
    const res = await pending
    expect(res.status).toBe(200)
    expect(sampleValue(parseScrape(await res.text()), 'aikit_cache_lookups_total', {})).toBe(1)
  })

  it('a worker that was asked and exits before answering fails the scrape with 503', async () => {
    const cluster = fake.cluster as FakeCluster
    const m = createMetrics({ key: false })
    cluster.workers = {
      1: worker(cluster, 1, m, { 1: 0 }),
      2: { id: 2, isConnected: () => true, send() {} }, // asked, never answers
    }
    const base = await nodeApp([clusterMetricsHandler()])
    const pending = fetch(`${base}/metrics`)
    await new Promise((r) => setTimeout(r, 10))
    cluster.emit('exit', { id: 2 })
    const res = await pending
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'METRICS_UNAVAILABLE'
    )
  })
})
