/**
 * GET /api/health: the kit's readiness report (Redis is checked when REDIS_URL is set) as
 * `application/health+json`, 200 for pass/warn and 503 for fail, for load balancers and uptime checks.
 */
import { withAikit } from '@aikit/adapters/next'
import { lazyRoute } from '../../../lib/kit'

export const dynamic = 'force-dynamic'

export const GET = lazyRoute(({ kit, adapterOptions, routeMetrics }) =>
  withAikit(
    async () => {
      // The kit's health middleware answers on /health, /livez and /readyz; here the route is
      // /api/health, so the report is asked for directly.
      const report = await kit.middleware.health.readiness()
      return new Response(JSON.stringify(report), {
        status: report.status === 'fail' ? 503 : 200,
        headers: { 'content-type': 'application/health+json', 'cache-control': 'no-store' },
      })
    },
    routeMetrics('/api/health'),
    adapterOptions
  )
)
