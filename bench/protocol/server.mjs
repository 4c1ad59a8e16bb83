// One benchmark server per process: `node server.mjs <variant>` sends its port to bench/lib/http-bench.mjs (serveControl).
// Variants: {node,express,fastify}-{bare,aikit,noctx,native}. `aikit` adds 5 no-op AI Kit middleware,
// `native` 5 no-op middleware of the framework itself (the framework's own cost of 5 layers).

import { createServer } from 'node:http'
import { serveControl } from '../lib/http-bench.mjs'

const [framework, mode] = (process.argv[2] ?? '').split('-')
// `aikit-noctx`: the same 5 middleware with `asyncContext: false` (no AsyncLocalStorage scope).
const adapterOptions = mode === 'noctx' ? { asyncContext: false } : {}
const N = 5
const noop = async (_ctx, next) => {
  await next()
}
const middleware = Array.from({ length: N }, () => noop)
const payload = JSON.stringify({ hello: 'world' })

async function start() {
  if (framework === 'node') {
    const route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(payload)
    }
    let handler = route
    if (mode === 'aikit' || mode === 'noctx') {
      const { toNodeHandler } = await import('@aikit/adapters/node')
      handler = toNodeHandler(...middleware, { handler: route, ...adapterOptions })
    }
    const server = createServer(handler)
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    return server.address().port
  }
  if (framework === 'express') {
    const { default: express } = await import('express')
    const app = express()
    app.disable('x-powered-by')
    app.disable('etag')
    if (mode === 'aikit' || mode === 'noctx') {
      const { toExpress } = await import('@aikit/adapters/express')
      app.use(toExpress(...middleware, adapterOptions))
    } else if (mode === 'native') {
      for (let i = 0; i < N; i++) app.use((_req, _res, next) => next())
    }
    app.get('/', (_req, res) => {
      res.type('application/json').send(payload)
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    return server.address().port
  }
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    if (mode === 'aikit' || mode === 'noctx') {
      const { aikitFastify } = await import('@aikit/adapters/fastify')
      await app.register(aikitFastify, { use: middleware, ...adapterOptions })
    } else if (mode === 'native') {
      for (let i = 0; i < N; i++) app.addHook('onRequest', async () => {})
    }
    app.get('/', async (_req, reply) => {
      reply.type('application/json')
      return payload
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app.server.address().port
  }
  throw new Error(`unknown variant ${process.argv[2]}`)
}

serveControl(await start())
