// The protocol benchmark apps: `startApp(variant)` serves one variant on 127.0.0.1 and resolves to
// its port (server.mjs for autocannon, bench/observability/http-instructions.mjs --app protocol
// for valgrind counts). Variants: {node,express,fastify}-{bare,aikit,noctx,native,koa}. `aikit`
// adds 5 no-op AI Kit middleware, `native` 5 no-op middleware of the framework itself (the
// framework's own cost of 5 layers), `koa` the same 5 no-op middleware composed by koa-compose in
// one hook whose innermost next() lets the framework go on and resolves when the head is written:
// the least an onion chain costs in that place (no context, no error or client-gone handling),
// the floor for `aikit`.

import { createServer } from 'node:http'
import koaCompose from 'koa-compose'

const N = 5
const noop = async (_ctx, next) => {
  await next()
}
const middleware = Array.from({ length: N }, () => noop)
const payload = JSON.stringify({ hello: 'world' })

/**
 * The `koa` floor for one request: 5 no-op middleware around `proceed` (the framework's own
 * next/done), `await next()` resolving once `res`'s head is written (hooked as on-headers does).
 */
const koaChain = koaCompose(middleware)
function koaFloor(res, proceed) {
  let release
  const head = new Promise((resolve) => {
    release = resolve
  })
  const writeHead = res.writeHead
  res.writeHead = function hookedWriteHead(...args) {
    const written = writeHead.apply(this, args)
    release()
    return written
  }
  return koaChain({}, () => {
    proceed()
    return head
  })
}

/** Starts `variant` (`<framework>-<mode>`); resolves to its port. */
export async function startApp(variant) {
  const [framework, mode] = variant.split('-')
  // `aikit-noctx`: the same 5 middleware with `asyncContext: false` (no AsyncLocalStorage scope).
  const adapterOptions = mode === 'noctx' ? { asyncContext: false } : {}
  const withAikit = mode === 'aikit' || mode === 'noctx'
  if (framework === 'node') {
    const route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(payload)
    }
    let handler = route
    if (withAikit) {
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
    if (withAikit) {
      const { toExpress } = await import('@aikit/adapters/express')
      app.use(toExpress(...middleware, adapterOptions))
    } else if (mode === 'native') {
      for (let i = 0; i < N; i++) app.use((_req, _res, next) => next())
    } else if (mode === 'koa') {
      app.use((_req, res, next) => void koaFloor(res, next))
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
    if (withAikit) {
      const { aikitFastify } = await import('@aikit/adapters/fastify')
      await app.register(aikitFastify, { use: middleware, ...adapterOptions })
    } else if (mode === 'native') {
      for (let i = 0; i < N; i++) app.addHook('onRequest', async () => {})
    } else if (mode === 'koa') {
      app.addHook('onRequest', (_request, reply, done) => void koaFloor(reply.raw, done))
    }
    app.get('/', async (_req, reply) => {
      reply.type('application/json')
      return payload
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app.server.address().port
  }
  throw new Error(`unknown variant ${variant}`)
}
