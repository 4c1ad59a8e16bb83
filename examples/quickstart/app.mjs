// The quickstart app: AI Kit middleware in front of a streamed chat endpoint.
//   POST /api/chat {"message":"hi"}  → text/event-stream of the answer
//   GET  /                           → a page that calls it
import { readFileSync } from 'node:fs'
import { toNodeHandler } from '@aikit/adapters/node'
import { compose, InvalidRequestError } from '@aikit/core'
import {
  createLogger,
  createMetrics,
  healthCheck,
  httpMetrics,
  metricsHandler,
  requestLogger,
} from '@aikit/observability'
import { rateLimit } from '@aikit/ratelimit'
import { csrf, securityHeaders } from '@aikit/security'
import { modelName, streamAnswer } from './model.mjs'

const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8')

// Everything below runs in memory: no Redis, no key. Pass `store: redisStore(redis)` to
// rateLimit to share limits between instances.
export const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' })
export const metrics = createMetrics()
const route = (ctx) => (ctx.path === '/api/chat' || ctx.path === '/' ? ctx.path : undefined)

const chat = async function chat(ctx, next) {
  if (ctx.path === '/') {
    // The page's inline script runs under the CSP only with this request's nonce.
    const html = page.replace('<script>', `<script nonce="${ctx.state.cspNonce}">`)
    ctx.respond(200, html, { 'content-type': 'text/html; charset=utf-8' })
    return
  }
  if (ctx.path !== '/api/chat' || ctx.method !== 'POST') return next()
  const body = await ctx.json({ maxBytes: 16 * 1024 }) // 413 / 415 / 400 become JSON errors
  if (
    typeof body?.message !== 'string' ||
    body.message.length === 0 ||
    body.message.length > 2000
  ) {
    throw new InvalidRequestError('`message` must be a string of 1 to 2000 characters')
  }
  const encoder = new TextEncoder()
  const signal = ctx.signal
  async function* events() {
    yield encoder.encode(`event: meta\ndata: ${JSON.stringify({ model: modelName() })}\n\n`)
    for await (const text of streamAnswer(body.message, signal)) {
      yield encoder.encode(`data: ${JSON.stringify({ text })}\n\n`)
    }
    yield encoder.encode('event: done\ndata: {}\n\n')
  }
  ctx.respond(200, events(), {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
  })
}

/** The node:http request listener of the app. */
export const app = toNodeHandler(
  compose(
    // helmet's header set, first so it is on every answer; the page is served over plain http on
    // 127.0.0.1, so the CSP must not upgrade its requests to https (keep it in production).
    securityHeaders({
      contentSecurityPolicy: { nonce: true, directives: { upgradeInsecureRequests: null } },
    }),
    requestLogger(logger, { route }), // X-Request-Id and one JSON line per request, secrets redacted
    httpMetrics(metrics, { route }), // OTel-named Prometheus metrics
    metricsHandler(metrics), // GET /metrics
    healthCheck(), // GET /livez, /readyz, /health
    csrf(), // cross-origin POSTs from browsers are refused (Fetch Metadata, no token needed)
    rateLimit({ limits: [{ limit: 20, window: '1m' }] }), // per client IP (no proxy trusted)
    chat
  )
)
