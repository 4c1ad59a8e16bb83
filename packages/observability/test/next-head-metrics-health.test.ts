/**
 * HEAD on the metrics and health endpoints through the Next adapter (withAikit, the route
 * handler Next calls with a Web Request): no body, the Content-Length of GET.
 */
import { withAikit } from '@aikit/adapters/next'
import { compress } from '@aikit/core/compress'
import { createMetrics, healthCheck, metricsHandler } from '@aikit/observability'
import { describe, expect, it } from 'vitest'

describe('HEAD under withAikit', () => {
  it.each(['/metrics', '/readyz', '/livez'])(
    'HEAD %s: no body, GET’s Content-Length',
    async (path) => {
      const metrics = createMetrics({ key: false })
      const route = withAikit(
        async () => new Response('fallthrough'),
        metricsHandler(metrics),
        healthCheck()
      )
      const get = await route(new Request(`http://127.0.0.1${path}`), {})
      const getBody = new Uint8Array(await get.arrayBuffer())
      const head = await route(new Request(`http://127.0.0.1${path}`, { method: 'HEAD' }), {})
      expect(getBody.byteLength).toBeGreaterThan(0)
      expect(head.status).toBe(get.status)
      expect(head.body).toBeNull()
      expect(head.headers.get('content-length')).toBe(String(getBody.byteLength))
    }
  )

  it('HEAD /readyz with compress() and Accept-Encoding: gzip: no body, no Content-Encoding', async () => {
    const route = withAikit(
      async () => new Response('x'),
      compress({ threshold: 0 }),
      healthCheck()
    )
    const head = await route(
      new Request('http://127.0.0.1/readyz', {
        method: 'HEAD',
        headers: { 'accept-encoding': 'gzip' },
      }),
      {}
    )
    expect(head.body).toBeNull()
    expect(head.headers.get('content-encoding')).toBeNull()
  })
})
