/** Real Express, Fastify and node:http servers on 127.0.0.1 for the HTTP tests, closed by `closeAll`. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import type { Middleware } from '@aikit/core'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'

const servers: Server[] = []
const apps: FastifyInstance[] = []

export async function closeAll(): Promise<void> {
  for (const s of servers) s.closeAllConnections()
  await Promise.all([
    ...servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))),
    ...apps.splice(0).map((a) => a.close()),
  ])
}

async function listen(server: Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/**
 * The same small app on every adapter: `GET /items/:id` → 200 JSON, `GET /boom` → throws,
 * anything else → 404. `extra` runs last in the chain (e.g. the metrics endpoint).
 */
export type AppFactory = (use: Middleware[]) => Promise<string>

export const expressApp: AppFactory = async (use) => {
  const app = express()
  app.use(toExpress(...use))
  app.get('/items/:id', (_req, res) => {
    res.json({ ok: true })
  })
  app.get('/boom', () => {
    throw new Error('boom with sk-ant-secret')
  })
  return listen(createServer(app))
}

export const fastifyApp: AppFactory = async (use) => {
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, { use, errorHandler: true })
  app.get('/items/:id', async () => ({ ok: true }))
  app.get('/boom', async () => {
    throw new Error('boom with sk-ant-secret')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  apps.push(app)
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

/** node:http has no router: the route comes from the `route` option of the middleware. */
export const nodeApp: AppFactory = async (use) => {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/items/')) {
      res.setHeader('content-type', 'application/json')
      res.end('{"ok":true}')
      return
    }
    if (req.url === '/boom') throw new Error('boom with sk-ant-secret')
    res.statusCode = 404
    res.end()
  }
  return listen(createServer(toNodeHandler(...use, { handler })))
}
