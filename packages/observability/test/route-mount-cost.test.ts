/**
 * What `routeOf` costs per request on real Express 5 and 4 apps, counted, not timed: every router
 * stack of the app is wrapped in a Proxy counting the layers read from it (and its `length`), and
 * every Express 5 mount layer's matchers in a function counting its calls, while `routeOf` runs
 * (Express's own dispatch reads them too: not counted). A route on the app itself (no `baseUrl`) touches
 * nothing; a route under mounted routers, once its first request has found its chain of mounts,
 * reads no layer of the tree: it runs each mount's matcher of that chain once, and reads each
 * router's layer count (to notice a layer added since).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import type { Context } from '@aikit/core'
import { createMetrics, httpMetrics, routeOf } from '@aikit/observability'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { parseScrape } from './parse-scrape.js'
import { type ExpressModule, express4, express5 } from './route-scrape.js'

interface LayerLike {
  handle?: { stack?: unknown }
  matchers?: unknown
}
interface RouterLike {
  stack: LayerLike[]
}

const counts = { layers: 0, lengths: 0, matchers: 0 }
let counting = false
/** Calls of `countedRouteOf` (once per request, when its response has ended). */
let routed = 0
let stacks = 0

/** Wraps `router.stack` (and its mounted routers', depth first) in counting Proxies. */
function instrument(router: RouterLike): void {
  stacks++
  for (const layer of router.stack) {
    if (Array.isArray(layer.matchers)) {
      layer.matchers = layer.matchers.map((m: (path: string) => unknown) => (path: string) => {
        if (counting) counts.matchers++
        return m(path)
      })
    }
    if (Array.isArray(layer.handle?.stack)) instrument(layer.handle as RouterLike)
  }
  router.stack = new Proxy(router.stack, {
    get(target, key, receiver) {
      if (counting && typeof key === 'string') {
        if (key === 'length') counts.lengths++
        else if (/^\d+$/.test(key)) counts.layers++
      }
      return Reflect.get(target, key, receiver)
    },
  })
}

/** `routeOf`, its reads counted; the counts of one request are reset by `fetchCounted`. */
function countedRouteOf(ctx: Context): string | undefined {
  counting = true
  try {
    return routeOf(ctx)
  } finally {
    counting = false
    routed++
  }
}

const ok = (_req: unknown, res: { json(body: unknown): void }): void => res.json({ ok: true })
const servers: Server[] = []

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
})

/** An app with 20 routers the counted requests do not go through, and one chain of two mounts. */
async function start(express: ExpressModule) {
  const metrics = createMetrics({ key: false })
  const app = express()
  app.use(toExpress(httpMetrics(metrics, { route: countedRouteOf })))
  app.get('/health', ok)
  for (let i = 0; i < 20; i++) {
    const other = express.Router()
    for (let j = 0; j < 5; j++) other.get(`/r${j}`, ok)
    app.use(`/other${i}/:id`, other)
  }
  const users = express.Router()
  users.get('/posts/:postId', ok)
  const api = express.Router()
  api.use('/users/:userId', users)
  app.use('/api/:version', api)
  app.get('/late', ok)
  stacks = 0
  const root = (app as unknown as { _router?: RouterLike })._router ?? app.router
  instrument(root as unknown as RouterLike)
  const server = createServer(app)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { metrics, base }
}

async function fetchCounted(base: string, path: string): Promise<typeof counts> {
  counts.layers = 0
  counts.lengths = 0
  counts.matchers = 0
  const before = routed
  const response = await fetch(base + path)
  expect(response.status).toBe(200)
  await response.text()
  // `routeOf` runs once the response has ended (polled: a loaded runner takes longer).
  await vi.waitFor(() => expect(routed).toBeGreaterThan(before), { timeout: 10_000, interval: 5 })
  await new Promise((r) => setTimeout(r, 5))
  return { ...counts }
}

describe.each([
  ['Express 5', express5, 2],
  ['Express 4', express4, 0],
])('routeOf per-request cost on an %s app, counted', (_name, express, mountMatchers) => {
  it('reads nothing of the router tree for a route on the app itself', async () => {
    const { base } = await start(express)
    for (const path of ['/health', '/health', '/late']) {
      expect(await fetchCounted(base, path)).toEqual({ layers: 0, lengths: 0, matchers: 0 })
    }
  })

  it('reads no layer of the tree for a mounted route once its chain is known', async () => {
    const { base, metrics } = await start(express)
    const first = await fetchCounted(base, '/api/v1/users/1/posts/1')
    // The first request finds the chain: a walk of the tree.
    expect(first.layers).toBeGreaterThan(20)
    for (let i = 2; i < 12; i++) {
      const later = await fetchCounted(base, `/api/v${i}/users/${i}/posts/${i}`)
      // Express 5: the two mounts of the chain (app → api → users), each matched once against
      // its piece of baseUrl (Express 4's are matched by a copy of their expression).
      expect(later).toEqual({ layers: 0, lengths: stacks, matchers: mountMatchers })
    }
    const routes = parseScrape(await metrics.registry.metrics())
      .filter((s) => s.name === 'http_server_request_duration_seconds_count')
      .map((s) => [s.labels.http_route, s.value])
    expect(routes).toEqual([['/api/:version/users/:userId/posts/:postId', 11]])
  })
})
