// Scrape cost with ~10k series: AI Kit's registry rendered through metricsHandler's paths
// (Prometheus text and OpenMetrics) against prom-client's own `registry.metrics()` on a plain
// prom-client Histogram holding the same observations. Interleaved, median of the rounds.
import { createMetrics, metricsHandler } from '@aikit/observability'
import { Histogram, Registry } from 'prom-client'

/** Runs the metricsHandler middleware on a minimal Context and returns the body it answered with. */
async function scrapeThroughHandler(handler, accept) {
  let body
  const ctx = {
    path: '/metrics',
    method: 'GET',
    header: (name) => (name === 'accept' ? accept : undefined),
    respond: (_status, b) => {
      body = b
    },
  }
  await handler(ctx, async () => {})
  return body
}

export async function scrapeBench({ rounds = 30 } = {}) {
  const ours = createMetrics({ key: false, maxLabelValues: 1000 })
  const plainRegistry = new Registry()
  const plain = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'plain prom-client',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code', 'error_type'],
    buckets: [
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
    ],
    registers: [plainRegistry],
  })
  // 100 routes x 5 statuses = 500 label sets x (17 buckets + +Inf + sum + count) = 10,000 series.
  const statuses = [200, 201, 400, 404, 500]
  for (let r = 0; r < 100; r++) {
    for (const status of statuses) {
      const labels = {
        http_request_method: 'GET',
        http_route: `/api/route${r}/:id`,
        http_response_status_code: status,
        error_type: status >= 500 ? '500' : '',
      }
      for (let i = 0; i < 3; i++) {
        const d = (r + i) / 100
        ours.recordHttpRequest({
          method: 'GET',
          route: labels.http_route,
          statusCode: status,
          durationSeconds: d,
          errorType: labels.error_type,
        })
        plain.observe(labels, d)
      }
    }
  }
  const series = (await plainRegistry.metrics())
    .split('\n')
    .filter((l) => l && !l.startsWith('#')).length
  const time = async (fn) => {
    const t = performance.now()
    await fn()
    return performance.now() - t
  }
  const handler = metricsHandler(ours)
  const OM = 'application/openmetrics-text;version=1.0.0'
  const samples = { plain: [], ours: [], oursOpenMetrics: [] }
  const text = await scrapeThroughHandler(handler, undefined)
  if (!text.includes('http_route="/api/route99/:id"')) throw new Error('scrape is missing series')
  for (let i = 0; i < 3; i++) {
    await plainRegistry.metrics()
    await scrapeThroughHandler(handler, undefined)
    await scrapeThroughHandler(handler, OM)
  }
  for (let i = 0; i < rounds; i++) {
    samples.plain.push(await time(() => plainRegistry.metrics()))
    samples.ours.push(await time(() => scrapeThroughHandler(handler, undefined)))
    samples.oursOpenMetrics.push(await time(() => scrapeThroughHandler(handler, OM)))
  }
  return { series, samples }
}
