/**
 * `http_route` "is the route template …, never the raw path" (README), so clients cannot mint
 * label values. Express matches mount paths case-insensitively (per router: the app's
 * `case sensitive routing` covers its own mounts only, an `express.Router()` below matches its own
 * case-insensitively unless made with `caseSensitive: true`), and `req.baseUrl` holds the text the
 * mount path matched, as the client typed it. The literal part of the mount is recorded in lower
 * case, so every spelling a client may send is one series.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import type { Context } from '@aikit/core'
import { createMetrics, httpMetrics, routeOf } from '@aikit/observability'
import express, { type Express } from 'express'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { parseScrape } from './parse-scrape.js'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

/**
 * An Express app with `httpMetrics`, routes set up by `mount`; requests `paths` (path → status).
 * `settings` are set first: the app's router takes `case sensitive routing` when it is created.
 */
async function scrapeAfter(
  metrics: ReturnType<typeof createMetrics>,
  mount: (app: Express) => void,
  paths: [string, number][],
  settings: Record<string, unknown> = {}
) {
  const e = express()
  for (const [name, value] of Object.entries(settings)) e.set(name, value)
  e.use(toExpress(httpMetrics(metrics)))
  mount(e)
  const server = createServer(e)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  for (const [p, status] of paths) {
    const r = await fetch(base + p)
    expect([p, r.status]).toEqual([p, status])
    await r.text()
  }
  await new Promise((r) => setTimeout(r, 20))
  // Every request recorded (none in flight): each is once its response has ended (polled: a
  // loaded runner takes longer).
  return vi.waitFor(
    async () => {
      const samples = parseScrape(await metrics.registry.metrics())
      const active = samples.filter((x) => x.name === 'http_server_active_requests')
      expect(active.reduce((a, x) => a + x.value, 0)).toBe(0)
      return samples
    },
    { timeout: 10_000, interval: 20 }
  )
}

/** `[route, count]` of every `http_server_request_duration_seconds` series. */
function routes(samples: ReturnType<typeof parseScrape>): [string | undefined, number][] {
  return samples
    .filter((x) => x.name === 'http_server_request_duration_seconds_count')
    .map((x) => [x.labels.http_route, x.value])
}

function itemsRouter(path = '/items/:id') {
  const router = express.Router()
  router.get(path, (_req, res) => {
    res.json({ ok: true })
  })
  return router
}

describe('httpMetrics route of a router mounted on a literal path (Express)', () => {
  it('records one template whatever the case the client typed the mount path in', async () => {
    const metrics = createMetrics({ key: false })
    const s = await scrapeAfter(metrics, (e) => e.use('/api/v1', itemsRouter()), [
      ['/api/v1/items/1', 200],
      ['/API/V1/items/2', 200],
      ['/Api/v1/items/3', 200],
    ])
    expect(routes(s)).toEqual([['/api/v1/items/:id', 3]])
  })

  it('lets no client exhaust the route label cap with spellings of one route', async () => {
    const metrics = createMetrics({ key: false, maxLabelValues: 4 })
    const spellings = ['/api/v1', '/API/v1', '/aPi/v1', '/apI/v1', '/API/V1', '/Api/V1']
    const s = await scrapeAfter(
      metrics,
      (e) => e.use('/api/v1', itemsRouter()),
      spellings.map((m) => [`${m}/items/1`, 200])
    )
    const overflow = s.filter((x) => x.name === 'aikit_metrics_label_overflow_total')
    expect(overflow.reduce((a, x) => a + x.value, 0)).toBe(0)
    expect(routes(s)).toEqual([['/api/v1/items/:id', 6]])
  })

  it('records one template for a router mounted below, in an app with case-sensitive routing', async () => {
    // The app's setting covers its own mount ('/api' as registered only); the router below
    // matches '/v1' in any case, as express.Router() does by default.
    const metrics = createMetrics({ key: false })
    const s = await scrapeAfter(
      metrics,
      (e) => {
        const api = express.Router()
        api.use('/v1', itemsRouter())
        e.use('/api', api)
      },
      [
        ['/api/v1/items/1', 200],
        ['/api/V1/items/2', 200],
        ['/API/v1/items/3', 404],
      ],
      { 'case sensitive routing': true }
    )
    expect(routes(s)).toEqual([
      ['/api/v1/items/:id', 2],
      ['_unmatched', 1],
    ])
  })

  it('lower-cases the literal segments of a mount path with params, keeping the params as :name', async () => {
    const metrics = createMetrics({ key: false })
    const s = await scrapeAfter(
      metrics,
      (e) => {
        const posts = express.Router({ mergeParams: true })
        posts.get('/:postId', (_req, res) => {
          res.json({ ok: true })
        })
        e.use('/Users/:userId/Posts', posts)
      },
      [
        ['/Users/42/Posts/9', 200],
        ['/users/43/posts/9', 200],
        ['/USERS/AB/POSTS/9', 200],
      ]
    )
    expect(routes(s)).toEqual([['/users/:userId/posts/:postId', 3]])
  })

  it('makes no series of a percent-escaped spelling: Express does not match it, and escapes in any hex case are one', async () => {
    const metrics = createMetrics({ key: false })
    const s = await scrapeAfter(
      metrics,
      (e) => {
        e.use('/api/v1', itemsRouter())
        e.use('/caf%C3%A9', itemsRouter())
      },
      [
        ['/api/v%31/items/1', 404],
        ['/%61pi/v1/items/1', 404],
        ['/caf%C3%A9/items/1', 200],
        ['/caf%c3%a9/items/1', 200],
        ['/CAF%c3%A9/items/1', 200],
      ]
    )
    expect(routes(s)).toEqual([
      ['_unmatched', 2],
      ['/caf%c3%a9/items/:id', 3],
    ])
  })

  it('keeps the route path itself as registered (only the mount text comes from the client)', () => {
    const ctx = (baseUrl: string, path: string, params: Record<string, string>) =>
      ({ req: { baseUrl, route: { path }, params } }) as unknown as Context
    expect(routeOf(ctx('/API/V1', '/Items/:ID', { ID: 'x' }))).toBe('/api/v1/Items/:ID')
    expect(routeOf(ctx('', '/Items/:ID', { ID: 'x' }))).toBe('/Items/:ID')
    expect(routeOf(ctx('/Orgs/Acme', '/:ID', { orgId: 'Acme', ID: 'x' }))).toBe('/orgs/:orgId/:ID')
  })
})
