// One server per process for bench/ratelimit/http.mjs: `node http-server.mjs <framework>-<mode>`
// prints its port. framework: express | fastify; mode: bare | anchor (express-rate-limit /
// @fastify/rate-limit) | aikit (rateLimit() through the framework's AI Kit adapter). Every limiter
// uses its memory store and the same policy: a fixed window of 1,000,000,000 requests per minute
// per client IP (so every request is allowed: the allowed path is what is measured), draft
// `RateLimit` headers where the library offers them.
import { serveControl } from '../lib/http-bench.mjs'

const [framework, mode] = (process.argv[2] ?? '').split('-')
const payload = JSON.stringify({ hello: 'world' })
const LIMIT = 1_000_000_000
const WINDOW_MS = 60_000

async function aikitLimiter() {
  const { rateLimit } = await import('@aikit/ratelimit')
  return rateLimit({ limits: [{ algorithm: 'fixed-window', limit: LIMIT, window: WINDOW_MS }] })
}

async function start() {
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    if (mode === 'anchor') {
      const { default: fastifyRateLimit } = await import('@fastify/rate-limit')
      await app.register(fastifyRateLimit, {
        max: LIMIT,
        timeWindow: WINDOW_MS,
        enableDraftSpec: true,
      })
    } else if (mode === 'aikit') {
      const { aikitFastify } = await import('@aikit/adapters/fastify')
      await app.register(aikitFastify, { use: [await aikitLimiter()] })
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
    app.disable('x-powered-by')
    app.disable('etag')
    if (mode === 'anchor') {
      const { rateLimit } = await import('express-rate-limit')
      app.use(
        rateLimit({
          windowMs: WINDOW_MS,
          limit: LIMIT,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
        })
      )
    } else if (mode === 'aikit') {
      const { toExpress } = await import('@aikit/adapters/express')
      app.use(toExpress(await aikitLimiter()))
    }
    app.get('/', (_req, res) => {
      res.type('application/json').send(payload)
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    return server.address().port
  }
  throw new Error(`unknown variant ${process.argv[2]}`)
}

serveControl(await start())
