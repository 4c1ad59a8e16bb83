/**
 * GET /api/metrics: Prometheus text (or OpenMetrics when the scraper asks for it) of the kit's
 * registry: HTTP, LLM tokens and cost, cache, rate limit and budget metrics. Requires
 * `Authorization: Bearer $METRICS_TOKEN` when METRICS_TOKEN is set; otherwise keep the path
 * private at the network level.
 */
import { withAikit } from '@aikit/adapters/next'
import { lazyRoute, notFound } from '../../../lib/kit'

export const dynamic = 'force-dynamic'

export const GET = lazyRoute(({ adapterOptions, metricsEndpoint }) =>
  withAikit(notFound, metricsEndpoint, adapterOptions)
)
