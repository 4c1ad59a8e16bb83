/**
 * A failing readiness probe (503 from `healthCheck`: shutting down, or a check failed) is logged
 * at `warn` by `requestLogger`, not `error`: orchestrators probe every few seconds, through every
 * deploy's drain and every Redis outage, and each probe was an error line (error alerting fired on
 * every rollout). Any other 5xx stays `error`.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { toNodeHandler } from '@aikit/adapters/node'
import { createLogger, healthCheck, requestLogger } from '@aikit/observability'
import { afterAll, expect, it } from 'vitest'

const servers: Server[] = []
afterAll(async () => {
  for (const s of servers) s.closeAllConnections()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
})

it('logs a 503 readiness answer at warn, a route 503 at error', async () => {
  const lines: { level: string; path: string; status: number }[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line))
      cb()
    },
  })
  const health = healthCheck()
  const server = createServer(
    toNodeHandler(requestLogger(createLogger({ stream, level: 'info' })), health, async (ctx) => {
      ctx.respond(503, { error: { code: 'UNAVAILABLE', message: 'down' } })
    })
  )
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  expect((await fetch(`${base}/readyz`)).status).toBe(200)
  health.markShuttingDown()
  expect((await fetch(`${base}/readyz`)).status).toBe(503)
  expect((await fetch(`${base}/api/chat`)).status).toBe(503)
  await new Promise((r) => setImmediate(r))
  expect(lines.map(({ level, path, status }) => [path, status, level])).toEqual([
    ['/readyz', 200, 'info'],
    ['/readyz', 503, 'warn'],
    ['/api/chat', 503, 'error'],
  ])
})
