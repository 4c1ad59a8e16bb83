/**
 * POST /api/chat: `{ "message": string, "stream"?: boolean }` → JSON, or server-sent events when
 * `stream` is true. The kit's middleware run around its chat logic in the order a plain server
 * uses: metrics and logs first, then CSRF (cross-site POST → 403), the anonymous session subject
 * (budget and cache scope), the rate limit (429; see lib/kit.ts), and the chat itself (400 on a bad body, 402 when
 * the subject's daily budget is spent). Security headers come from proxy.ts.
 */
import { withAikit } from '@aikit/adapters/next'
import { lazyRoute, notFound } from '../../../lib/kit'

// Per request, never cached or prerendered.
export const dynamic = 'force-dynamic'

export const POST = lazyRoute(({ kit, adapterOptions, rateLimit }) =>
  withAikit(
    notFound,
    kit.middleware.requestLogger,
    kit.middleware.httpMetrics,
    kit.middleware.csrf,
    kit.middleware.subject,
    rateLimit,
    kit.chat,
    adapterOptions
  )
)

/**
 * Any other method: the chat answers 405 in the kit's error shape with `Allow: POST`, as the
 * Express and Fastify examples do (a route without the export gets Next's bare 405).
 */
const otherMethod = lazyRoute(({ kit, adapterOptions }) =>
  withAikit(
    notFound,
    kit.middleware.requestLogger,
    kit.middleware.httpMetrics,
    kit.chat,
    adapterOptions
  )
)
export const GET = otherMethod
export const PUT = otherMethod
export const PATCH = otherMethod
export const DELETE = otherMethod
