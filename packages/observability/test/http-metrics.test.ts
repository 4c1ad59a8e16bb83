import { Writable } from 'node:stream'
import type { Context } from '@aikit/core'
import {
  createLogger,
  createMetrics,
  httpMetrics,
  metricsHandler,
  requestLogger,
} from '@aikit/observability'
import { afterAll, describe, expect, it, vi } from 'vitest'
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
    // Recorded once each response has ended (polled: a loaded runner takes longer).
    await vi.waitFor(
      async () => {
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
      },
      { timeout: 10_000, interval: 20 }
    )
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
      // Recorded once each response has ended (polled: a loaded runner takes longer).
      await vi.waitFor(
        async () => {
          const s = parseScrape(await metrics.registry.metrics())
          expect(
            sampleValue(s, 'http_server_request_duration_seconds_count', {
              http_route: '/api/v1/items/:id',
            })
          ).toBe(2)
        },
        { timeout: 10_000, interval: 20 }
      )
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('httpMetrics route templates under a parameterised Express mount path', () => {
  /** `app.use('/users/:userId/posts', Router({ mergeParams: true }))`, the usual nesting. */
  async function postsApp(metrics: ReturnType<typeof createMetrics>) {
    const { createServer } = await import('node:http')
    const express = (await import('express')).default
    const { toExpress } = await import('@aikit/adapters/express')
    const app = express()
    app.use(toExpress(httpMetrics(metrics)))
    const posts = express.Router({ mergeParams: true })
    posts.get('/:postId', (_req, res) => {
      res.json({ ok: true })
    })
    app.use('/users/:userId/posts', posts)
    const server = createServer(app)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    return { base: `http://127.0.0.1:${port}`, server }
  }

  it('records the template, never the user id from the mount path', async () => {
    const metrics = createMetrics({ key: false })
    const { base, server } = await postsApp(metrics)
    try {
      for (const user of ['1', '2', '3'])
        await (await fetch(`${base}/users/${user}/posts/9`)).text()
      // Recorded once each response has ended (polled: a loaded runner takes longer).
      await vi.waitFor(
        async () => {
          const counts = parseScrape(await metrics.registry.metrics()).filter(
            (s) => s.name === 'http_server_request_duration_seconds_count'
          )
          expect(counts.map((s) => [s.labels.http_route, s.value])).toEqual([
            ['/users/:userId/posts/:postId', 3],
          ])
        },
        { timeout: 10_000, interval: 20 }
      )
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it('records the template when the mount value equals a literal segment of the mount path', async () => {
    const metrics = createMetrics({ key: false })
    const { base, server } = await postsApp(metrics)
    try {
      // The user id equals the literal segment `posts`: the template is the mount path's own.
      await (await fetch(`${base}/users/posts/posts/9`)).text()
      // Recorded once the response has ended (polled: a loaded runner takes longer).
      await vi.waitFor(
        async () => {
          const routes = parseScrape(await metrics.registry.metrics())
            .filter((s) => s.name === 'http_server_request_duration_seconds_count')
            .map((s) => s.labels.http_route)
          expect(routes).toEqual(['/users/:userId/posts/:postId'])
        },
        { timeout: 10_000, interval: 20 }
      )
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
    // Recorded once each response has ended (polled: a loaded runner takes longer).
    await vi.waitFor(
      async () => {
        const s = parseScrape(await fetch(`${base}/metrics`).then((r) => r.text()))
        expect(
          sampleValue(s, 'http_server_request_duration_seconds_count', {
            http_request_method: 'GET',
            http_route: '/items/:id',
            http_response_status_code: '200',
          })
        ).toBe(2)
        // In flight through addActiveRequests: only the scrape itself.
        expect(sampleValue(s, 'http_server_active_requests', { http_request_method: 'GET' })).toBe(
          1
        )
      },
      { timeout: 10_000, interval: 20 }
    )
  })
})

describe('httpMetrics in-flight gauge', () => {
  it('counts each method in its own series (_OTHER past the standard ones), balanced across a reset', async () => {
    const metrics = createMetrics({ key: false })
    let release = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const base = await nodeApp([
      httpMetrics(metrics, { route: nodeRoute }),
      metricsHandler(metrics),
      async (ctx, next) => {
        if (ctx.path === '/items/held') await gate
        return next()
      },
    ])
    const scrape = async () => parseScrape(await (await fetch(`${base}/metrics`)).text())
    const active = (s: ReturnType<typeof parseScrape>, method: string) =>
      sampleValue(s, 'http_server_active_requests', { http_request_method: method })
    const held = fetch(`${base}/items/held`).then((r) => r.text())
    const heldOther = fetch(`${base}/items/held`, { method: 'PROPFIND' }).then((r) => r.text())
    let during = await scrape()
    for (
      let end = Date.now() + 10_000;
      Date.now() < end && active(during, '_OTHER') + active(during, 'GET') < 3;
    ) {
      await new Promise((r) => setTimeout(r, 10))
      during = await scrape()
    }
    expect(active(during, 'GET')).toBe(2) // the held request and the scrape itself
    expect(active(during, '_OTHER')).toBe(1)
    // A reset while both are in flight: their ends must not push the new series below zero.
    metrics.registry.resetMetrics()
    release()
    await Promise.all([held, heldOther])
    // Recorded once each response has ended (polled: a loaded runner takes longer).
    await vi.waitFor(
      async () => {
        const after = await scrape()
        expect(active(after, 'GET')).toBe(1) // only the scrape
        expect(active(after, '_OTHER')).toBe(0)
        const count = 'http_server_request_duration_seconds_count'
        expect(sampleValue(after, count, { http_request_method: '_OTHER' })).toBe(1)
      },
      { timeout: 10_000, interval: 20 }
    )
  })
})

describe('httpMetrics inside requestLogger', () => {
  // A clock that moves 1 ms per reading (anyone's: fetch reads it too), plus jumps a test adds.
  const clock = { jump: 0 }
  const steppingClock = () => {
    let t = 0
    clock.jump = 0
    return vi.spyOn(performance, 'now').mockImplementation(() => {
      t += 1
      return t + clock.jump
    })
  }
  const lineSink = () => {
    const raw: string[] = []
    const stream = new Writable({
      write(chunk, _enc, cb) {
        raw.push(String(chunk))
        cb()
      },
    })
    const durations = () =>
      raw
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { durationMs: number }).durationMs)
    return { stream, durations }
  }
  const histogramSumMs = async (metrics: ReturnType<typeof createMetrics>) => {
    const s = parseScrape(await metrics.registry.metrics())
    const name = 'http_server_request_duration_seconds_sum'
    return Math.round(sampleValue(s, name, { http_route: '/items/:id' }) * 1000)
  }

  it('times its own span: a wait before it counts in the log line, not in the histogram', async () => {
    const metrics = createMetrics({ key: false })
    const lines = lineSink()
    const base = await nodeApp([
      requestLogger(createLogger({ stream: lines.stream }), { route: nodeRoute }),
      async (_ctx, next) => {
        await new Promise((r) => setImmediate(r))
        clock.jump += 1_000_000 // one million ms pass before httpMetrics starts
        return next()
      },
      httpMetrics(metrics, { route: nodeRoute }),
    ])
    const spy = steppingClock()
    try {
      for (const id of ['1', '2']) await fetch(`${base}/items/${id}`).then((r) => r.text())
      // Both recorded and logged once their responses have ended, on the stepping clock (polled:
      // a loaded runner takes longer).
      await vi.waitFor(
        async () => {
          expect(lines.durations()).toHaveLength(2)
          const s = parseScrape(await metrics.registry.metrics())
          const count = 'http_server_request_duration_seconds_count'
          expect(sampleValue(s, count, { http_route: '/items/:id' })).toBe(2)
        },
        { timeout: 10_000, interval: 20 }
      )
    } finally {
      spy.mockRestore()
    }
    const logged = lines.durations().reduce((a, b) => a + b, 0)
    expect(lines.durations()).toHaveLength(2)
    // The log line counts the jump, the histogram (which started after it) does not.
    expect(logged).toBeGreaterThan(2_000_000)
    expect(await histogramSumMs(metrics)).toBeLessThan(logged - 1_900_000)
  })
})
