/**
 * Real Express 5 and Express 4 apps on 127.0.0.1 with `httpMetrics`, and the `http_route` values
 * they recorded. Express 4 is a dev dependency of @aikit/adapters (as `express4`).
 */
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { createMetrics, httpMetrics } from '@aikit/observability'
import express5 from 'express'
import { expect } from 'vitest'
import { parseScrape } from './parse-scrape.js'

export const express4 = createRequire(new URL('../../adapters/package.json', import.meta.url))(
  'express4'
) as typeof express5
export { express5 }

export type ExpressModule = typeof express5
export type App = ReturnType<ExpressModule>

const servers: Server[] = []

export async function closeServers(): Promise<void> {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
}

/**
 * An app with `httpMetrics`, routes set up by `mount`; requests `paths` (path → status), in order.
 * `[route, count]` of every series, and the label overflows.
 */
export async function routesAfter(
  express: ExpressModule,
  mount: (app: App) => void,
  paths: [string, number][],
  maxLabelValues = 100
): Promise<{ routes: [string | undefined, number][]; overflow: number }> {
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
  const samples = parseScrape(await metrics.registry.metrics())
  const overflow = samples
    .filter((x) => x.name === 'aikit_metrics_label_overflow_total')
    .reduce((a, x) => a + x.value, 0)
  const routes = samples
    .filter((x) => x.name === 'http_server_request_duration_seconds_count')
    .map((x) => [x.labels.http_route, x.value] as [string | undefined, number])
  return { routes, overflow }
}

export const ok = (_req: unknown, res: { json(body: unknown): void }): void =>
  res.json({ ok: true })
