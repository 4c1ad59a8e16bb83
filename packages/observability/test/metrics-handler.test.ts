import {
  createMetrics,
  httpMetrics,
  metricsHandler,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from '@aikit/observability'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { parseScrape, sampleValue } from './parse-scrape.js'
import { closeAll, fastifyApp, nodeApp } from './servers.js'

afterAll(closeAll)

const TOKEN = 'scrape-token-0123456789'

describe('metricsHandler', () => {
  it('serves OpenMetrics when the Accept header prefers it, and Prometheus text stays intact after', async () => {
    const metrics = createMetrics({ key: false })
    metrics.recordCache({ result: 'hit' })
    const base = await nodeApp([metricsHandler(metrics)])
    const prometheusAccept =
      'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.6'
    const om = await fetch(`${base}/metrics`, {
      headers: {
        accept: 'application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5,*/*;q=0.1',
      },
    })
    expect(om.headers.get('content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8'
    )
    const omText = await om.text()
    expect(omText.endsWith('# EOF\n')).toBe(true)
    expect(omText).toContain('# TYPE aikit_cache_lookups counter')
    expect(omText).toContain('aikit_cache_lookups_total{cache="default",result="hit"} 1')

    const text = await fetch(`${base}/metrics`, { headers: { accept: prometheusAccept } })
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const body = await text.text()
    expect(body).toContain('# TYPE aikit_cache_lookups_total counter')
    expect(sampleValue(parseScrape(body), 'aikit_cache_lookups_total', { result: 'hit' })).toBe(1)
  })

  it("keeps the registry's default labels in OpenMetrics, as in Prometheus text", async () => {
    const registry = new Registry()
    registry.setDefaultLabels({ service: 'chat-api' })
    const metrics = createMetrics({ registry })
    metrics.recordCache({ result: 'hit' })
    metrics.recordHttpRequest({ method: 'GET', route: '/x', statusCode: 200, durationSeconds: 0.1 })
    const base = await nodeApp([metricsHandler(metrics)])

    const text = await (await fetch(`${base}/metrics`)).text()
    expect(text).toContain(
      'aikit_cache_lookups_total{cache="default",result="hit",service="chat-api"} 1'
    )
    const om = await (
      await fetch(`${base}/metrics`, { headers: { accept: 'application/openmetrics-text' } })
    ).text()
    expect(om.endsWith('# EOF\n')).toBe(true)
    expect(om).toContain(
      'aikit_cache_lookups_total{cache="default",result="hit",service="chat-api"} 1'
    )
    expect(om).toMatch(
      /http_server_request_duration_seconds_count\{[^}]*service="chat-api"[^}]*\} 1/
    )
    // The same series in both formats: no line of either lacks the label.
    for (const body of [text, om]) {
      const samples = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
      expect(samples.length).toBeGreaterThan(0)
      for (const line of samples) expect(line).toContain('service="chat-api"')
    }
  })

  it.each([
    ['Application/OpenMetrics-Text; version=1.0.0', 'openmetrics'],
    ['application/openmetrics-text;Q=0, text/plain', 'text'],
    ['application/openmetrics-text;q=0.5, */*', 'text'],
    ['application/openmetrics-text;q=0.5, TEXT/*', 'text'],
    ['application/openmetrics-text;q=0.5, text/plain;q=0.2, */*', 'openmetrics'],
    ['application/openmetrics-text, */*', 'openmetrics'],
    ['application/openmetrics-text;q=0.7, text/plain;q=0.7', 'openmetrics'],
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['*/*', 'text'],
    ['text/plain', 'text'],
  ])('Accept %s gets %s (case-insensitive, wildcards at their q)', async (accept, expected) => {
    const metrics = createMetrics({ key: false })
    const base = await nodeApp([metricsHandler(metrics)])
    const res = await fetch(`${base}/metrics`, { headers: { accept } })
    await res.text()
    expect(res.headers.get('content-type')).toBe(
      expected === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE
    )
  })

  it('requires the bearer token when set: 401 without or with a wrong one, 200 with it', async () => {
    const metrics = createMetrics({ key: false })
    const base = await fastifyApp([metricsHandler(metrics, { token: TOKEN })])
    const none = await fetch(`${base}/metrics`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED')
    const wrong = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })
    expect(wrong.status).toBe(401)
    await wrong.text()
    const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('http_server_request_duration_seconds')
  })

  it('passes other paths and methods on', async () => {
    const metrics = createMetrics({ key: false })
    const base = await nodeApp([metricsHandler(metrics)])
    const other = await fetch(`${base}/items/1`)
    expect(other.status).toBe(200)
    await other.text()
    const post = await fetch(`${base}/metrics`, { method: 'POST' })
    expect(post.status).toBe(404)
    await post.text()
  })

  it('records a streamed answer only when its body is fully sent', async () => {
    const metrics = createMetrics({ key: false })
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const base = await nodeApp([
      httpMetrics(metrics, { route: (ctx) => (ctx.path === '/stream' ? '/stream' : undefined) }),
      metricsHandler(metrics),
      async (ctx, next) => {
        if (ctx.path !== '/stream') return next()
        ctx.respond(
          200,
          (async function* () {
            yield 'data: one\n\n'
            await gate
            yield 'data: two\n\n'
          })(),
          { 'content-type': 'text/event-stream' }
        )
      },
    ])
    const res = await fetch(`${base}/stream`)
    const reader = res.body!.getReader()
    await reader.read() // first chunk arrived: the head is written, the body still flowing
    const mid = parseScrape(await (await fetch(`${base}/metrics`)).text())
    expect(
      sampleValue(mid, 'http_server_request_duration_seconds_count', { http_route: '/stream' })
    ).toBe(0)
    expect(sampleValue(mid, 'http_server_active_requests', { http_request_method: 'GET' })).toBe(2)
    release()
    while (!(await reader.read()).done) {}
    // Recorded once the response has ended (polled: a loaded runner takes longer).
    await vi.waitFor(
      async () => {
        const after = parseScrape(await (await fetch(`${base}/metrics`)).text())
        expect(
          sampleValue(after, 'http_server_request_duration_seconds_count', {
            http_route: '/stream',
          })
        ).toBe(1)
      },
      { timeout: 10_000, interval: 20 }
    )
  })

  it.each([
    [{ token: 'short' }, 'token'],
    // No scraper can send these (a header value loses its edge spaces; no control characters).
    [{ token: 'scrape-token-0123456789 ' }, 'token'],
    [{ token: ' scrape-token-0123456789' }, 'token'],
    [{ token: '                ' }, 'token'],
    [{ token: 'scrape-token-0123456789\n' }, 'token'],
    [{ token: 'scrape-token-012345678\u00e9' }, 'token'],
    [{ path: 'metrics' }, 'path'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    const metrics = createMetrics({ key: false })
    expect(() => metricsHandler(metrics, options as never)).toThrow(
      expect.objectContaining({ field })
    )
  })

  it('a token with a space inside is sent and matched', async () => {
    const token = 'scrape token 0123456789'
    const base = await fastifyApp([metricsHandler(createMetrics({ key: false }), { token })])
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    await res.text()
    expect(res.status).toBe(200)
  })

  it('rejects something that is not a metrics instance', () => {
    expect(() => metricsHandler({} as never)).toThrow(expect.objectContaining({ field: 'metrics' }))
    expect(() => httpMetrics(null as never)).toThrow(expect.objectContaining({ field: 'metrics' }))
  })
})
