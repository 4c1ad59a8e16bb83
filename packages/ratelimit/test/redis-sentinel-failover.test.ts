/**
 * A limiter on a Sentinel client (ioredis `failoverDetector: true`, which `redisStore` requires)
 * keeps its count across a `SENTINEL FAILOVER`: the client leaves the old master as soon as the
 * sentinel announces the new one, and the checks on the new master continue from the replicated
 * count, exactly to the limit. Without the detector the client stayed on the old master for about
 * 10 s, whose grants were wiped when it resynced, and a token bucket granted past its limit. (A
 * check sent in the instant of the switch can still be lost: replication is asynchronous.)
 */
import { once } from 'node:events'
import { redisStore } from '@aikit/core/redis'
import { createRateLimiter } from '@aikit/ratelimit'
import { whenReady } from '@aikit/testing/redis'
import { startRedisSentinelWithReplica } from '@aikit/testing/sentinel'
import type { Redis } from 'ioredis'
import { expect, it } from 'vitest'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const portOf = (client: Redis) =>
  (client as unknown as { stream?: { remotePort?: number } }).stream?.remotePort

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

it('a limiter on a Sentinel client keeps its count across a failover', async () => {
  const s = await startRedisSentinelWithReplica()
  try {
    const client = s.client({ maxRetriesPerRequest: 1, retryStrategy: () => 50 })
    // The detector subscribes to the sentinel's +switch-master once the client is connected.
    const subscribed = once(client, 'failoverSubscribed')
    // Connected before the first check: on a loaded machine, finding the master through the
    // sentinel can take longer than the store's command timeout.
    await whenReady(client)
    const store = redisStore(client, {
      commandTimeoutMs: 300,
      breaker: { failureThreshold: 3, openMs: 200 },
    })
    const limiter = createRateLimiter({
      store,
      limits: [{ algorithm: 'token-bucket', limit: 10, window: '1h' }],
    })
    let allowed = 0
    let degraded = 0
    for (let i = 0; i < 4; i++) if ((await limiter.check('user')).allowed) allowed++
    expect(allowed).toBe(4)
    await subscribed
    await waitFor(
      'the replica to acknowledge the writes',
      async () => (await client.call('WAIT', '1', '100')) === 1,
      5_000
    )
    await s.failover()
    // Told by the sentinel, the client moves within a moment; without the detector it stayed on
    // the old master, which answered as a master for about 10 s.
    await waitFor('the client on the new master', () => portOf(client) === s.replica.port, 5_000)
    for (let i = 0; i < 12; i++) {
      const r = await limiter.check('user')
      if (r.allowed) allowed++
      if (r.degraded) degraded++
      expect(portOf(client)).toBe(s.replica.port)
    }
    expect(degraded).toBe(0)
    // One key, one window: exactly the limit, failover or not.
    expect(allowed).toBe(10)
    expect((await limiter.check('user')).remaining).toBe(0)
  } finally {
    await s.stop()
  }
}, 60_000)
