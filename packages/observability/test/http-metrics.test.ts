import type { Context } from '@aikit/core'
import { createMetrics, httpMetrics, metricsHandler } from '@aikit/observability'
import { afterAll, describe, expect, it } from 'vitest'
import { parseScrape, sampleValue } from './parse-scrape.js'
import { type AppFactory, closeAll, expressApp, fastifyApp, nodeApp } from './servers.js'

afterAll(closeAll)

const nodeRoute = (ctx: Context) => (ctx.path.startsWith('/items/') ? '/items/:id' : undefined)

describe.each<[string, AppFactory, ((ctx: Context) => string | undefined) | undefined, string]>([
  ['Express', expressApp, undefined, '500'],
  ['Fastify', fastifyApp, undefined, '500'],
  ['node', nodeApp, nodeRoute, '500'],
])('httpMetrics on %s', (_name, start, route, errorType) => {
  it('a scrape after traffic holds the expected series with exact counts, by route template', async () => {
    const metrics = createMetrics({ key: false })
    const base = await start([
      httpMetrics(metrics, route ? { route } : {}),
      metricsHandler(metrics),
    ])
    for (const id of ['1', '2', '3']) {
      const r = await fetch(`${base}/items/${id}`)
      expect(r.status).toBe(200)
      await r.text()
    }
    for (const path of ['/nope', '/nope/again']) {
      const r = await fetch(base + path)
      expect(r.status).toBe(404)
      await r.text()
    }
    const boom = await fetch(`${base}/boom`)
    expect(boom.status).toBe(500)
    await boom.text()
    await fetch(`${base}/items/4`, { method: 'POST' }).then((r) => r.text())

    const res = await fetch(`${base}/metrics`)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const s = parseScrape(await res.text())
    const count = 'http_server_request_duration_seconds_count'
    expect(sampleValue(s, count, { http_request_method: 'GET', http_route: '/items/:id' })).toBe(3)
    expect(
      sampleValue(s, count, {
        http_route: '_unmatched',
        http_response_status_code: '404',
        http_request_method: 'GET',
      })
    ).toBe(2)
    // No raw path ever becomes a label.
    expect(
      s.some((x) => Object.values(x.labels).some((v) => v.includes('/items/1') || v === '/nope'))
    ).toBe(false)
    if (route === undefined) {
      expect(sampleValue(s, count, { http_route: '/boom', http_response_status_code: '500' })).toBe(
        1
      )
    }
    const errors = s.filter((x) => x.name === count && x.labels.error_type !== '')
    expect(
      errors.map((x) => [x.labels.http_response_status_code, x.labels.error_type, x.value])
    ).toEqual([['500', errorType, 1]])
    // Every finished request left the in-flight gauge (the scrape itself is in flight).
    expect(sampleValue(s, 'http_server_active_requests', { http_request_method: 'GET' })).toBe(1)
    const total = s.filter((x) => x.name === count).reduce((a, x) => a + x.value, 0)
    expect(total).toBe(7)
  })
})

describe('httpMetrics on Next (withAikit)', () => {
  it('records route handler requests under the route option, with exact counts', async () => {
    const { withAikit } = await import('@aikit/adapters/next')
    const metrics = createMetrics({ key: false })
    const mw = httpMetrics(metrics, { route: () => '/api/chat/[id]' })
    const GET = withAikit(async () => Response.json({ ok: true }), mw)
    const POST = withAikit(async (): Promise<Response> => {
      throw new Error('boom')
    }, mw)
    for (const id of ['1', '2']) {
      const res = await GET(new Request(`http://localhost/api/chat/${id}`), {})
      expect(res.status).toBe(200)
      await res.text()
    }
    const failed = await POST(new Request('http://localhost/api/chat/3', { method: 'POST' }), {})
    expect(failed.status).toBe(500)
    await failed.text()
    await new Promise((r) => setTimeout(r, 20))
    const s = parseScrape(await metrics.registry.metrics())
    const count = 'http_server_request_duration_seconds_count'
    expect(
      sampleValue(s, count, { http_request_method: 'GET', http_route: '/api/chat/[id]' })
    ).toBe(2)
    expect(
      sampleValue(s, count, {
        http_request_method: 'POST',
        http_response_status_code: '500',
        error_type: '500',
      })
    ).toBe(1)
  })
})

describe('httpMetrics route templates on Express routers', () => {
  it('joins the mount path and the route path (/api/v1/items/:id)', async () => {
    const { createServer } = await import('node:http')
    const express = (await import('express')).default
    const { toExpress } = await import('@aikit/adapters/express')
    const metrics = createMetrics({ key: false })
    const app = express()
    app.use(toExpress(httpMetrics(metrics)))
    const router = express.Router()
    router.get('/items/:id', (_req, res) => {
      res.json({ ok: true })
    })
    app.use('/api/v1', router)
    const server = createServer(app)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const { port } = server.address() as { port: number }
      for (const id of ['a', 'b'])
        await (await fetch(`http://127.0.0.1:${port}/api/v1/items/${id}`)).text()
      await new Promise((r) => setTimeout(r, 20))
      const s = parseScrape(await metrics.registry.metrics())
      expect(
        sampleValue(s, 'http_server_request_duration_seconds_count', {
          http_route: '/api/v1/items/:id',
        })
      ).toBe(2)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('httpMetrics with a metrics instance of another copy of the package', () => {
  it('records through recordHttpRequest when the instance has no per-request recorder', async () => {
    const metrics = createMetrics({ key: false })
    // What an older copy's createMetrics() returns: the public methods only.
    const foreign = {
      registry: metrics.registry,
      prefix: metrics.prefix,
      recordHttpRequest: metrics.recordHttpRequest,
      addActiveRequests: metrics.addActiveRequests,
    } as unknown as typeof metrics
    const base = await fastifyApp([httpMetrics(foreign), metricsHandler(metrics)])
    for (let i = 0; i < 2; i++) await fetch(`${base}/items/${i}`).then((r) => r.text())
    const s = parseScrape(await fetch(`${base}/metrics`).then((r) => r.text()))
    expect(
      sampleValue(s, 'http_server_request_duration_seconds_count', {
        http_request_method: 'GET',
        http_route: '/items/:id',
        http_response_status_code: '200',
      })
    ).toBe(2)
  })
})
