// Closing one cache releases only what is its own: a bus connection the app shares between
// caches stays subscribed for the caches still open.
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
}, 30_000)
afterAll(() => server.stop())

/** Resolves once `predicate()` holds, or returns false after 10 s (bounded poll; a loaded CI runner is slow). */
async function eventually(predicate: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (await predicate()) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('closing a cache leaves the other caches on the same bus connection subscribed', () => {
  // Promise: `bus: { publisher, subscriber, channel? }` takes "two ioredis connections" the app
  // passes in (README.md:50, bus.ts BusOption), and `close()` "Disconnects the bus and drops the
  // memory tier. Does not close the store (you own it)" (types.ts:112): closing one cache must
  // end that cache's bus, not another live cache's. One subscriber connection serving several
  // caches of a process is how ioredis pub/sub is meant to be used (a connection subscribes to
  // many channels), and two caches on one namespace share its default channel `<namespace>:bus`.
  // Before the fix: `close()` runs `subscriber.unsubscribe(channel)` on the shared connection, so the
  // cache still open stops hearing every invalidation from other instances: after another
  // instance sets `k` to 2 it keeps answering its memory copy 1 until its TTL (stale data, silently).
  // The cause was packages/cache/src/bus.ts:166-174 (`close()` unsubscribes the channel of a connection
  // it does not own, with no count of the other listeners on it). Fix: unsubscribe only when no
  // other 'message' listener of the kit remains for that channel on the connection (a per-connection
  // reference count), or only for the owned (`client`) form.
  it("another instance's set still reaches the open cache after a sibling closed", async () => {
    const channel = 'hunt-bus-close'
    const [pub, sub, otherPub, otherSub] = [
      server.client(),
      server.client(),
      server.client(),
      server.client(),
    ]
    // Not the default 50 ms: the writes and reads must be answered on a loaded runner too.
    const store = redisStore(pub, { prefix: 'hb', commandTimeoutMs: 5_000 })
    const old = createCache({
      store,
      ttl: 60_000,
      bus: { publisher: pub, subscriber: sub, channel },
    })
    const live = createCache({
      store,
      ttl: 60_000,
      bus: { publisher: pub, subscriber: sub, channel },
    })
    // The other instance's bus is its own; its store shares `store`'s clock: the receiver drops
    // a memory copy older than the change's stamp, and two stores' clocks agree only to within
    // half a TIME round trip (tens of ms on a loaded runner), more than this test's writes apart.
    const other = createCache({
      store,
      ttl: 60_000,
      bus: { publisher: otherPub, subscriber: otherSub, channel },
    })
    try {
      // Both connections subscribed.
      expect(
        await eventually(async () => {
          const reply = (await pub.pubsub('NUMSUB', channel)) as [string, number]
          return Number(reply[1]) === 2
        })
      ).toBe(true)
      await live.set('k', 1)
      expect(await live.get('k')).toBe(1)
      await old.close()
      // A second close of the same cache must not count it off the channel again.
      await old.close()
      await other.set('k', 2)
      // The open cache hears the other instance's set and drops its memory copy of `k`.
      expect(await eventually(async () => (await live.get('k')) === 2)).toBe(true)
    } finally {
      await live.close()
      await other.close()
    }
  })
})
