/**
 * The bus keeps apart apps that share one Redis server but not a key space. Pub/Sub channels are
 * server-wide (whatever the store's key prefix or the SELECTed database), and the default channel
 * is `<namespace>:bus`: each message carries its store's key space, and an instance follows only
 * its own space's messages, so two apps with the default namespace and their own `prefix` (or
 * database) never make each other's entries out of date. A message without a key space (sent by a
 * version before it was added) is still followed, so a rolling deploy keeps instances coherent.
 */
import { type Cache, createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

async function app(prefix: string, db = 0): Promise<Cache> {
  const client = server.client({ maxRetriesPerRequest: 1, db })
  await whenReady(client)
  const cache = createCache({
    store: redisStore(client, { prefix, commandTimeoutMs: 2000 }),
    bus: { client },
  })
  await cache.get('warm-up')
  return cache
}

/** Fills `config` alternately on both apps, 10 times each; how often each fetched it. */
async function alternate(one: Cache, two: Cache) {
  await sleep(200) // SUBSCRIBEs land
  let first = 0
  let second = 0
  for (let i = 0; i < 10; i++) {
    await one.getOrSet('config', async () => {
      first++
      return { app: 1 }
    })
    await sleep(20)
    await two.getOrSet('config', async () => {
      second++
      return { app: 2 }
    })
    await sleep(20)
  }
  return { first, second }
}

describe('bus: apps sharing one Redis server', () => {
  it("one app's fills never make another app's entries out of date (own store prefix)", async () => {
    const billing = await app('billing')
    const search = await app('search')
    // ttl 60 s: each app fetches its config once.
    expect(await alternate(billing, search)).toEqual({ first: 1, second: 1 })
    await Promise.all([billing.close(), search.close()])
  })

  it('nor do apps with the same prefix in two databases', async () => {
    const one = await app('same', 1)
    const two = await app('same', 2)
    expect(await alternate(one, two)).toEqual({ first: 1, second: 1 })
    await Promise.all([one.close(), two.close()])
  })

  it('instances of one app still hear each other, and messages without a key space', async () => {
    const a = await app('shared')
    const b = await app('shared')
    // Both instances' bus subscriptions are live before the writes (a fixed sleep is not enough
    // on a loaded runner).
    const probe = server.client()
    await whenReady(probe)
    await vi.waitFor(
      async () => {
        const [, subscribers] = (await probe.pubsub('NUMSUB', 'cache:bus')) as [string, number]
        expect(Number(subscribers)).toBeGreaterThanOrEqual(2)
      },
      { timeout: 10_000, interval: 20 }
    )
    probe.disconnect()
    await a.set('k', 'v1')
    // Two sets are ordered by their stamps, each from its own instance's estimate of the store's
    // clock (a later set stamped at or before the first, within the estimates' disagreement, loses
    // everywhere: the store keeps the higher stamp). Well apart, B's set is the later one.
    await sleep(300)
    await b.set('k', 'v2')
    // B's message reaches A (a loaded runner takes longer than any fixed sleep).
    await vi.waitFor(() => expect(a.peek('k')).toBeUndefined(), { timeout: 10_000, interval: 20 })
    expect(await a.get('k')).toBe('v2')
    // A message as sent before key spaces were carried: followed.
    const publisher = server.client()
    await whenReady(publisher)
    await publisher.publish(
      'cache:bus',
      JSON.stringify({ i: 'old', o: 'd', k: ['k'], a: Date.now() + 5 })
    )
    await vi.waitFor(() => expect(a.peek('k')).toBeUndefined(), { timeout: 10_000, interval: 20 })
    publisher.disconnect()
    await Promise.all([a.close(), b.close()])
  })
})
