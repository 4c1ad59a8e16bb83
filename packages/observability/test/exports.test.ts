import { describe, expect, it } from 'vitest'

// Pins the public surface: adding or removing an export is a deliberate, reviewed change.
describe('public exports', () => {
  it('@aikit/observability', async () => {
    expect(Object.keys(await import('@aikit/observability')).sort()).toEqual([
      'GEN_AI_DURATION_BUCKETS',
      'GEN_AI_TOKEN_BUCKETS',
      'HTTP_DURATION_BUCKETS',
      'METRIC_NAMES',
      'OPENMETRICS_CONTENT_TYPE',
      'PROMETHEUS_CONTENT_TYPE',
      'clusterMetricsHandler',
      'createLogger',
      'createMetrics',
      'gracefulShutdown',
      'healthCheck',
      'httpCheck',
      'httpMetrics',
      'isSafeRequestId',
      'metricsHandler',
      'observeBudget',
      'observePriceTable',
      'observeRateLimiter',
      'observeStore',
      'redisCheck',
      'requestLogger',
      'routeOf',
      'serveClusterMetrics',
    ])
  })

  it('@aikit/observability/sentry', async () => {
    expect(Object.keys(await import('@aikit/observability/sentry')).sort()).toEqual([
      'SENSITIVE_HEADERS',
      'initSentry',
    ])
  })

  it('only the sentry subpath imports @sentry/node (an optional peer dependency)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs')
    const src = new URL('../src/', import.meta.url)
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts')
    )
    const importers = files.filter((f) =>
      /from '@sentry\//.test(readFileSync(new URL(f, src), 'utf8'))
    )
    expect(importers).toEqual(['sentry/init-sentry.ts'])
  })
})
