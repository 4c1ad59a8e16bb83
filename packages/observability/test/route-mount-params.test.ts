/**
 * `http_route` is "the route template …, never the raw path" (README). Express's `req.baseUrl` is
 * the text a mount path matched (`/users/42` for `app.use('/users/:id', router)`), and a router
 * made without `mergeParams` does not see its mount path's params, so `req.params` cannot tell
 * which part of `baseUrl` was a param: the mount path's template is found in the app's router
 * tree instead. Real Express 5 and Express 4 servers on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { createMetrics, httpMetrics } from '@aikit/observability'
import express5 from 'express'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { parseScrape } from './parse-scrape.js'

// Express 4 is a dev dependency of @aikit/adapters (as `express4`), whose tests run both majors.
const express4 = createRequire(new URL('../../adapters/package.json', import.meta.url))(
  'express4'
) as typeof express5

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

type ExpressModule = typeof express5
type App = ReturnType<ExpressModule>

/** An app with `httpMetrics`, routes set up by `mount`; requests `paths` (path → status). */
async function routesAfter(
  express: ExpressModule,
  mount: (app: App) => void,
  paths: [string, number][],
  maxLabelValues = 100
) {
  const metrics = createMetrics({ key: false, maxLabelValues })
  const app = express()
  app.use(toExpress(httpMetrics(metrics)))
  mount(app)
  const server = createServer(app)
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
  const samples = await vi.waitFor(
    async () => {
      const scraped = parseScrape(await metrics.registry.metrics())
      const active = scraped.filter((x) => x.name === 'http_server_active_requests')
      expect(active.reduce((a, x) => a + x.value, 0)).toBe(0)
      return scraped
    },
    { timeout: 10_000, interval: 20 }
  )
  const overflow = samples
    .filter((x) => x.name === 'aikit_metrics_label_overflow_total')
    .reduce((a, x) => a + x.value, 0)
  const routes = samples
    .filter((x) => x.name === 'http_server_request_duration_seconds_count')
    .map((x) => [x.labels.http_route, x.value])
  return { routes, overflow }
}

const ok = (_req: unknown, res: { json(body: unknown): void }) => res.json({ ok: true })

describe.each([
  ['Express 5', express5],
  ['Express 4', express4],
])(
  'httpMetrics route of a router mounted on a path with params, without mergeParams (%s)',
  (_name, express) => {
    it('records the mount path template, not the param values', async () => {
      const { routes } = await routesAfter(
        express,
        (app) => {
          const posts = express.Router()
          posts.get('/posts/:postId', ok)
          app.use('/users/:id', posts)
        },
        [
          ['/users/1/posts/9', 200],
          ['/users/2/posts/8', 200],
          ['/USERS/3/posts/7', 200],
        ]
      )
      expect(routes).toEqual([['/users/:id/posts/:postId', 3]])
    })

    it('lets no client exhaust the route label cap with param values of a mount path', async () => {
      const { routes, overflow } = await routesAfter(
        express,
        (app) => {
          const router = express.Router()
          router.get('/', ok)
          app.use('/users/:id', router)
        },
        ['1', '2', '3', '4', '5', '6'].map((id) => [`/users/${id}`, 200]),
        2
      )
      expect(overflow).toBe(0)
      expect(routes).toEqual([['/users/:id/', 6]])
    })

    it('records the template through two mount levels, the same value in both included', async () => {
      const { routes } = await routesAfter(
        express,
        (app) => {
          const users = express.Router()
          users.get('/:section', ok)
          const orgs = express.Router()
          orgs.use('/users/:userId', users)
          app.use('/orgs/:orgId', orgs)
        },
        [
          ['/orgs/acme/users/42/profile', 200],
          ['/orgs/7/users/7/profile', 200],
        ]
      )
      expect(routes).toEqual([['/orgs/:orgId/users/:userId/:section', 2]])
    })

    it('records the template when only the inner router merges params', async () => {
      const { routes } = await routesAfter(
        express,
        (app) => {
          const users = express.Router({ mergeParams: true })
          users.get('/:section', ok)
          const orgs = express.Router()
          orgs.use('/users/:userId', users)
          app.use('/orgs/:orgId', orgs)
        },
        [
          ['/orgs/acme/users/42/profile', 200],
          ['/orgs/globex/users/43/profile', 200],
        ]
      )
      expect(routes).toEqual([['/orgs/:orgId/users/:userId/:section', 2]])
    })

    it('records the template of a sub-app mounted on a path with params', async () => {
      const { routes } = await routesAfter(
        express,
        (app) => {
          const tenant = express()
          tenant.get('/items/:id', ok)
          app.use('/tenants/:tenant', tenant)
        },
        [
          ['/tenants/acme/items/1', 200],
          ['/tenants/globex/items/2', 200],
        ]
      )
      expect(routes).toEqual([['/tenants/:tenant/items/:id', 2]])
    })

    it("records a router the app calls from a function of its own under that function's mount path", async () => {
      const { routes } = await routesAfter(
        express,
        (app) => {
          const users = express.Router()
          users.get('/', ok)
          app.use('/users/:id', (req, res, next) => users(req, res, next))
          const admin = express.Router()
          admin.get('/stats', ok)
          app.use('/Admin', (req, res, next) => admin(req, res, next))
        },
        [
          ['/users/1', 200],
          ['/users/2', 200],
          ['/admin/stats', 200],
        ]
      )
      expect(routes).toEqual([
        ['/users/:id/', 2],
        ['/admin/stats', 1],
      ])
    })

    it('records _unmatched, never the raw mount text, when no mount in the tree explains it', async () => {
      const { routes } = await routesAfter(
        express,
        (app) => {
          const users = express.Router()
          users.get('/', ok)
          const api = express.Router()
          api.use('/users/:id', users)
          app.use('/api', (req, res, next) => api(req, res, next))
        },
        [
          ['/api/users/1', 200],
          ['/api/users/2', 200],
        ]
      )
      expect(routes).toEqual([['_unmatched', 2]])
    })
  }
)
