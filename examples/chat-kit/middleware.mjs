// The individual middleware of the chat API, built once from the validated env. Each framework
// places them (see `stack` in index.mjs for the order a plain server uses).
import {
  healthCheck,
  httpMetrics,
  metricsHandler,
  observeRateLimiter,
  observeStore,
  redisCheck,
  requestLogger,
  routeOf,
} from '@aikit/observability'
import { createRateLimiter, ipKey, rateLimit } from '@aikit/ratelimit'
import { csrf, securityHeaders } from '@aikit/security'
import { sessionSubject } from './session.mjs'

/** The IPv6 network one client is counted by (the rate limit middleware's default). */
const IPV6_PREFIX = 56

/** The paths the kit answers itself, so metrics and logs name them even without a framework route. */
const KIT_ROUTES = new Set(['/api/chat', '/health', '/livez', '/readyz', '/metrics'])
const route = (ctx) => (KIT_ROUTES.has(ctx.path) ? ctx.path : routeOf(ctx))

/**
 * @param {{ config: any, logger: any, metrics: any, redis: any, store: import('@aikit/core').Store }} parts
 */
export function createMiddleware({ config, logger, metrics, redis, store }) {
  const production = config.NODE_ENV === 'production'
  const limiter = createRateLimiter({
    store,
    prefix: 'chat-rl',
    limits: [{ limit: config.CHAT_RATE_LIMIT, window: '1m' }],
  })
  observeRateLimiter(metrics, limiter, 'chat')
  if (redis) observeStore(metrics, store, 'redis')

  const health = healthCheck({ checks: redis ? { redis: redisCheck(redis) } : {} })
  const metricsToken = config.METRICS_TOKEN?.reveal()

  return {
    // helmet's header set + a per-request CSP nonce (ctx.state.cspNonce), first so that every
    // answer carries it, errors included. Plain http on 127.0.0.1 in development: do not ask the
    // browser to upgrade requests to https there.
    securityHeaders: securityHeaders({
      contentSecurityPolicy: {
        nonce: true,
        ...(production ? {} : { directives: { upgradeInsecureRequests: null } }),
      },
    }),
    requestLogger: requestLogger(logger, { route }),
    httpMetrics: httpMetrics(metrics, { route }),
    metricsEndpoint: metricsHandler(metrics, metricsToken ? { token: metricsToken } : {}),
    health,
    // Cross-site POSTs from browsers are refused (Fetch Metadata; no token needed).
    csrf: csrf(),
    subject: sessionSubject({ secure: production }),
    // Per client IP, not per session: a client could drop its cookie to get a fresh bucket. An
    // IPv6 client counts by its /56 network, as the default key does (a home or an office gets a
    // /56 or a /64: one bucket per address would be 2^64 buckets). Where the IP is unknown (a
    // Next route handler without TRUST_PROXY), per session rather than none.
    rateLimit: chatOnly(
      rateLimit({
        limiter,
        keyBy: (ctx) =>
          ctx.ip
            ? ipKey(ctx.ip, IPV6_PREFIX)
            : typeof ctx.state.subject === 'string'
              ? ctx.state.subject
              : undefined,
      })
    ),
  }
}

/**
 * `limit` for chat requests only (`CHAT_RATE_LIMIT` counts chat requests): on a server where the
 * stack runs for every path, a page, a 404 or the app's own routes must not use up the quota.
 */
function chatOnly(limit) {
  return function chatRateLimit(ctx, next) {
    return ctx.path === '/api/chat' ? limit(ctx, next) : next()
  }
}
