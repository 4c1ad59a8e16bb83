// The full AI Kit HTTP stack on Fastify, for the load test until (or unless) the Fastify example
// (examples/fastify-chat/app.mjs) is there: request logging (JSON lines, redacted, to a null
// stream), security headers, HTTP metrics and their endpoint, health endpoints, CORS, CSRF and a
// per-client rate limit on the bounded memory store (100k keys by default), with the loopback
// proxy trusted so that X-Forwarded-For names the client. The LLM parts (wrapped client, budget,
// response cache) sit behind POST /chat in the example and are not on a cheap GET route.
import { Writable } from 'node:stream'
import { aikitFastify } from '@aikit/adapters/fastify'
import {
  createLogger,
  createMetrics,
  healthCheck,
  httpMetrics,
  metricsHandler,
  requestLogger,
} from '@aikit/observability'
import { rateLimit } from '@aikit/ratelimit'
import { cors, csrf, securityHeaders } from '@aikit/security'
import Fastify from 'fastify'

/** Route every load-test request takes. */
export const STACK_PATH = '/api/ping'

const payload = JSON.stringify({ ok: true })

/** The middleware of the stack, by name, in order (names for `without`). */
function stackMiddleware() {
  const metrics = createMetrics()
  const nullStream = new Writable({ write: (_chunk, _enc, cb) => cb() })
  return {
    requestLogger: requestLogger(createLogger({ stream: nullStream })),
    securityHeaders: securityHeaders(),
    httpMetrics: httpMetrics(metrics),
    metricsHandler: metricsHandler(metrics),
    healthCheck: healthCheck(),
    cors: cors({ origin: ['https://app.example.com'] }),
    csrf: csrf(),
    rateLimit: rateLimit({ limits: [{ limit: 60, window: '1m' }] }),
  }
}

/** The names `without` accepts. */
export const STACK_PARTS = Object.keys(stackMiddleware())

/**
 * @param {{ stack?: boolean, without?: string[] }} [options] `stack: false` → the same route with
 *   no middleware; `without`: leave these parts out (to attribute the stack's cost).
 */
export async function buildLoadApp({ stack = true, without = [] } = {}) {
  const app = Fastify({ logger: false })
  if (stack) {
    const use = Object.entries(stackMiddleware())
      .filter(([name]) => !without.includes(name))
      .map(([, middleware]) => middleware)
    await app.register(aikitFastify, { trustProxy: 'loopback', use })
  }
  app.get(STACK_PATH, async (_req, reply) => {
    reply.type('application/json')
    return payload
  })
  return app
}
