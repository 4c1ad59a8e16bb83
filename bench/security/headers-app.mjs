// The security-header benchmark apps: `startApp(variant)`, one per process (headers-server.mjs for
// bench/security/headers.mjs, the valgrind counter bench/observability/http-instructions.mjs --app security).
// framework: fastify | express; mode: bare | helmet (@fastify/helmet / helmet, defaults) |
// aikit (the adapter + securityHeaders() with defaults: the same header set as helmet),
// adapter (the adapter + a no-op middleware: the protocol's own share of the aikit variant),
// floor (Fastify only: helmet's header list set by a plain onRequest hook, no middleware layer).
const payload = JSON.stringify({ hello: 'world' })
// `adapter`: the AI Kit adapter with one no-op middleware (what the protocol alone costs).
const noop = async (_ctx, next) => {
  await next()
}

/** Starts `variant` (`<framework>-<mode>`) on 127.0.0.1 (a free port); resolves to the port. */
export async function startApp(variant) {
  const [framework, mode] = variant.split('-')
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    if (mode === 'helmet') {
      const { default: fastifyHelmet } = await import('@fastify/helmet')
      await app.register(fastifyHelmet)
    } else if (mode === 'aikit' || mode === 'adapter') {
      const { aikitFastify } = await import('@aikit/adapters/fastify')
      const { securityHeaders } = await import('@aikit/security')
      await app.register(aikitFastify, { use: [mode === 'aikit' ? securityHeaders() : noop] })
    }
    if (mode === 'floor') {
      // helmet's default headers, taken from helmet itself, set by a native hook: what sending
      // these 12 headers costs in Fastify and Node whoever sets them (the floor for any middleware).
      const { default: helmet } = await import('helmet')
      const { IncomingMessage, ServerResponse } = await import('node:http')
      const { Socket } = await import('node:net')
      const res = new ServerResponse(new IncomingMessage(new Socket()))
      helmet()(res.req, res, () => {})
      const names = res.getHeaderNames()
      const values = names.map((n) => String(res.getHeader(n)))
      app.addHook('onRequest', (_req, reply, done) => {
        for (let i = 0; i < names.length; i++) reply.header(names[i], values[i])
        done()
      })
    }
    app.get('/', async (_req, reply) => {
      reply.type('application/json')
      return payload
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app.server.address().port
  }
  if (framework === 'express') {
    const { default: express } = await import('express')
    const app = express()
    // helmet and ours remove X-Powered-By; the bare route must not pay for sending it either.
    app.disable('x-powered-by')
    app.disable('etag')
    if (mode === 'helmet') {
      const { default: helmet } = await import('helmet')
      app.use(helmet())
    } else if (mode === 'aikit' || mode === 'adapter') {
      const { toExpress } = await import('@aikit/adapters/express')
      const { securityHeaders } = await import('@aikit/security')
      app.use(toExpress(mode === 'aikit' ? securityHeaders() : noop))
    }
    app.get('/', (_req, res) => {
      res.type('application/json').send(payload)
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    return server.address().port
  }
  throw new Error(`unknown variant ${variant}`)
}
