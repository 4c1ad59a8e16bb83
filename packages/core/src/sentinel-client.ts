/**
 * @module sentinel-client
 * The check every Redis connection the kit is handed goes through (the store's client, the cache
 * bus's connections, the queue's): edge-safe, it reads the client's options only.
 */
import { InvalidOptionsError } from './store/errors.js'

/**
 * Throws unless a Sentinel client (ioredis `options.sentinels`, a non-empty array) has
 * `failoverDetector: true`. Without it (ioredis' default), after a `SENTINEL FAILOVER` the client
 * stays connected to the old master, which keeps acknowledging writes for seconds until it is
 * turned into a replica and resyncs, wiping them: a limiter grants twice, a budget overspends, a
 * deleted cache entry comes back, all with no error to see. The detector subscribes to the
 * sentinels' `+switch-master` and reconnects at once. A Cluster is not checked: its options hold
 * no `sentinels` (a `redisOptions.sentinels` is no Cluster-over-Sentinel mode of ioredis), and
 * the Cluster announces its own failovers (`MOVED`). `field` names the option in the error.
 */
export function assertSentinelFailoverDetector(client: object, field: string): void {
  if ((client as { isCluster?: unknown }).isCluster === true) return
  const options = (client as { options?: unknown }).options
  if (options === null || typeof options !== 'object') return
  const { sentinels, failoverDetector } = options as {
    sentinels?: unknown
    failoverDetector?: unknown
  }
  if (!Array.isArray(sentinels) || sentinels.length === 0 || failoverDetector === true) return
  throw new InvalidOptionsError(
    field,
    'a Sentinel client needs `failoverDetector: true` in its ioredis options: without it the client keeps writing to the old master after a failover, and those acknowledged writes (and messages published there) are lost'
  )
}
