// One benchmark server per process: `node compress-server.mjs <variant>` sends its port to bench/lib/http-bench.mjs (serveControl).
// Variants: express-compression, express-aikit, fastify-compress, fastify-aikit. Every variant
// answers GET / with the same ~10 KB JSON (a pre-serialised string, so only compression differs).
// Every variant answers from the same framework route (Express `res.send`, a Fastify reply); the
// aikit variants mount `compress()` through the adapter, which compresses the framework's own
// response through the `ctx.transformBody` hook.
import { serveControl } from '../lib/http-bench.mjs'

const [framework, mode] = (process.argv[2] ?? '').split('-')
// ~10 KB of JSON that compresses like real API output (about 3-4x), not like one repeated string:
// words and numbers drawn from a fixed-seed generator, so every variant serves the same bytes.
let seed = 42
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
const WORDS =
  'model token stream answer cache budget limit request user tenant price input output latency error retry queue event prompt system tool call result score vector index'.split(
    ' '
  )
const sentence = (n) =>
  Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ')
const payload = JSON.stringify({
  items: Array.from({ length: 60 }, (_, i) => ({
    id: `req_${Math.floor(rand() * 1e12).toString(36)}`,
    index: i,
    cost: Math.round(rand() * 1e6) / 1e6,
    tokens: Math.floor(rand() * 4000),
    text: sentence(14),
  })),
})
const JSON_TYPE = 'application/json; charset=utf-8'

async function start() {
  if (framework === 'express') {
    const { default: express } = await import('express')
    const app = express()
    app.disable('x-powered-by')
    app.disable('etag')
    if (mode === 'aikit') {
      const [{ toExpress }, { compress }] = await Promise.all([
        import('@aikit/adapters/express'),
        import('@aikit/core/compress'),
      ])
      app.use(toExpress(compress()))
    } else {
      const { default: compression } = await import('compression')
      app.use(compression())
    }
    app.get('/', (_req, res) => {
      res.type(JSON_TYPE).send(payload)
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    return server.address().port
  }
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    if (mode === 'aikit') {
      const [{ aikitFastify }, { compress }] = await Promise.all([
        import('@aikit/adapters/fastify'),
        import('@aikit/core/compress'),
      ])
      await app.register(aikitFastify, { use: [compress()] })
    } else {
      const { default: fastifyCompress } = await import('@fastify/compress')
      await app.register(fastifyCompress)
    }
    app.get('/', async (_req, reply) => {
      reply.type(JSON_TYPE)
      return payload
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app.server.address().port
  }
  throw new Error(`unknown variant ${process.argv[2]}`)
}

serveControl(await start())
