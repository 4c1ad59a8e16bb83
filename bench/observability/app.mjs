// The observability benchmark apps: `startApp(variant)`, one variant per process (server.mjs,
// http-cpu-child.mjs): AI Kit's AsyncLocalStorage choice and Node 20's promise hooks are per process.
// Variants: {fastify,express}-{bare,noop,anchor,metrics,metrics-logger,metrics-logger-noctx,
// metrics-logger-hooks}, and fastify-floor (httpMetrics' metrics by hand-written hooks, see
// `fastifyFloor`). `noop`: the AI Kit adapter with one no-op middleware (the protocol cost
// every AI Kit middleware pays);
// Other variants use the adapter's default `asyncContext: 'auto'` (see `scoping`);
// `metrics-logger-noctx` runs the same two with the adapter's `asyncContext: false` (no
// AsyncLocalStorage scope per request: log lines then carry no request id unless passed).
// `metrics-logger-hooks` is `-noctx` in a process where an AsyncLocalStorage was entered once at
// startup: Node 20's async hooks then run for the whole process with no request in a scope, which
// tells their cost from the scopes' (Node 20, valgrind: -noctx 74.9k instructions per request,
// -hooks 88.4k, metrics-logger 89.2k: the hooks are the cost, the scope per request ~1%).
// `anchor` is the framework's usual metrics plugin with its defaults (fastify-metrics,
// express-prom-bundle); `metrics` is AI Kit's httpMetrics; `metrics-logger` adds requestLogger
// writing JSON lines to a null stream (the full cost of formatting and redacting each line).

import { Writable } from 'node:stream'

const payload = JSON.stringify({ hello: 'world' })

// The adapter's default, 'auto': a request runs in an AsyncLocalStorage scope only once something
// reads the context (createLogger declares it), as in a user's app. Forcing `true` here would
// charge httpMetrics alone with Node 20's promise hooks, which fastify-metrics does not pay.
const scoping = (mode) => (mode.endsWith('-noctx') || mode.endsWith('-hooks') ? false : 'auto')

async function aikitMiddleware(mode) {
  // AIKIT_OBSERVABILITY_ENTRY: another build's dist/index.js (http-cpu.mjs --before, A/B runs).
  const { createMetrics, httpMetrics, createLogger, requestLogger, metricsHandler } = await import(
    process.env.AIKIT_OBSERVABILITY_ENTRY ?? '@aikit/observability'
  )
  const metrics = createMetrics()
  // The adapter's own cost (the AI Kit protocol with one no-op middleware), for attribution.
  if (mode === 'noop') return [async (_ctx, next) => next()]
  const use = []
  if (mode.endsWith('-hooks')) {
    const { AsyncLocalStorage } = await import('node:async_hooks')
    new AsyncLocalStorage().enterWith({})
  }
  if (mode.startsWith('metrics-logger')) {
    const nullStream = new Writable({ write: (_chunk, _enc, cb) => cb() })
    use.push(requestLogger(createLogger({ stream: nullStream })))
  }
  use.push(httpMetrics(metrics), metricsHandler(metrics))
  return use
}

/**
 * `floor`: what httpMetrics records, recorded by two hand-written Fastify hooks with no AI Kit
 * protocol (no Context, no chain): the same in-flight gauge cell and duration histogram, through
 * the same internal fast paths httpMetrics uses. The least a request can cost for these metrics;
 * httpMetrics' distance to it is the protocol's cost.
 */
async function fastifyFloor(app) {
  const { createMetrics } = await import(
    process.env.AIKIT_OBSERVABILITY_ENTRY ?? '@aikit/observability'
  )
  const metrics = createMetrics()
  const recordHttp = metrics[Symbol.for('@aikit/observability.record-http.v1')]
  const activeHttp = metrics[Symbol.for('@aikit/observability.active-http.v1')]
  app.decorateRequest('floorStart', 0)
  app.decorateRequest('floorActive', null)
  app.addHook('onRequest', (request, _reply, done) => {
    request.floorStart = performance.now()
    const active = activeHttp(request.method)
    active.value++
    request.floorActive = active
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    const end = performance.now()
    request.floorActive.value--
    const status = reply.statusCode
    const route = request.routeOptions.url ?? 'unmatched'
    recordHttp(
      request.method,
      route,
      status,
      status >= 500 ? String(status) : '',
      (end - request.floorStart) / 1000
    )
    done()
  })
}

/** Starts the variant's server on 127.0.0.1 (a free port); resolves to the port. */
export async function startApp(variant) {
  const dash = variant.indexOf('-')
  const framework = variant.slice(0, dash)
  const mode = variant.slice(dash + 1)
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify({ logger: false })
    if (mode === 'anchor') {
      const { default: metricsPlugin } = await import('fastify-metrics')
      await app.register(metricsPlugin, { endpoint: '/metrics' })
    } else if (mode === 'floor') {
      await fastifyFloor(app)
    } else if (mode !== 'bare') {
      const { aikitFastify } = await import('@aikit/adapters/fastify')
      await app.register(aikitFastify, {
        use: await aikitMiddleware(mode),
        asyncContext: scoping(mode),
      })
    }
    app.get('/items/:id', async (_req, reply) => {
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
      const { default: promBundle } = await import('express-prom-bundle')
      app.use(promBundle({ includeMethod: true, includePath: true }))
    } else if (mode !== 'bare') {
      const { toExpress } = await import('@aikit/adapters/express')
      app.use(toExpress(...(await aikitMiddleware(mode)), { asyncContext: scoping(mode) }))
    }
    app.get('/items/:id', (_req, res) => {
      res.type('application/json').send(payload)
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    return server.address().port
  }
  throw new Error(`unknown variant ${variant}`)
}
