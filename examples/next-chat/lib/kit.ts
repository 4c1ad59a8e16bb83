/**
 * The one chat kit of this server process, and the route handlers built on it.
 *
 * Kept on `globalThis`: `next dev` re-evaluates modules on every edit, and each evaluation would
 * otherwise open new Redis connections and register a second set of metrics. Created lazily on the
 * first request, never at import: `next build` imports the route modules to collect their config,
 * and the build must neither validate the runtime environment nor connect to Redis.
 */
import type { Middleware } from '@aikit/core'
import type { AdapterOptions } from '@aikit/core/adapter'
import { type ChatKit, createChatKit } from '@aikit/example-chat-kit'
import { httpMetrics, metricsHandler } from '@aikit/observability'

/** The kit plus the Next-specific pieces built from it once. */
export interface AppKit {
  kit: ChatKit
  /** `withAikit` options: `trustProxy` from TRUST_PROXY. */
  adapterOptions: AdapterOptions
  /** The chat rate limit: per client IP when it is known (TRUST_PROXY), else per session. */
  rateLimit: Middleware
  /** The Prometheus scrape middleware on its own route, bearer-protected when METRICS_TOKEN is set. */
  metricsEndpoint: Middleware
  /** `httpMetrics` recording under a fixed route template (Next's adapter has no router to ask). */
  routeMetrics(route: string): Middleware
}

const KEY = Symbol.for('aikit.example.next-chat.kit')
type Holder = Record<typeof KEY, AppKit | undefined>

function createAppKit(): AppKit {
  const kit = createChatKit(process.env)
  const token = kit.config.METRICS_TOKEN?.reveal()
  const perRoute = new Map<string, Middleware>()
  return {
    kit,
    adapterOptions: kit.adapterOptions,
    rateLimit: kit.middleware.rateLimit,
    metricsEndpoint: metricsHandler(kit.metrics, {
      path: null,
      ...(token === undefined ? {} : { token }),
    }),
    routeMetrics(route) {
      let mw = perRoute.get(route)
      if (mw === undefined) {
        mw = httpMetrics(kit.metrics, { route: () => route })
        perRoute.set(route, mw)
      }
      return mw
    },
  }
}

/** The process-wide kit, created on first use. */
export function getAppKit(): AppKit {
  const holder = globalThis as unknown as Holder
  holder[KEY] ??= createAppKit()
  return holder[KEY]
}

/**
 * A route handler built on first request from the kit (see the module comment), then reused.
 * `build` receives the kit and returns the real handler, usually a `withAikit(...)`.
 */
export function lazyRoute<C>(
  build: (app: AppKit) => (request: Request, context: C) => Promise<Response>
): (request: Request, context: C) => Promise<Response> {
  let handler: ((request: Request, context: C) => Promise<Response>) | undefined
  return (request, context) => {
    handler ??= build(getAppKit())
    return handler(request, context)
  }
}

/** The handler behind a terminal middleware: reached only if the middleware passed the request on. */
export function notFound(): Response {
  return Response.json(
    { error: { code: 'NOT_FOUND', message: 'Not found' } },
    { status: 404, headers: { 'cache-control': 'no-store' } }
  )
}
