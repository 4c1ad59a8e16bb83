/**
 * Changes of one key made at once on two instances end the same everywhere: the later change by
 * its stamp. Memory tiers and bus messages order `set`s and `delete`s by their stamps, and so does
 * the store tier: a `set` and a delete's tombstone are written only over a stored entry created no
 * later (`putOp`), whichever write lands last. (Before, a plain SET: when the earlier-stamped set
 * landed last, e.g. its large value took longer to gzip, the instance that made the later set
 * served its own value from memory for the whole TTL while every other instance read the other.)
 */
import { type Cache, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
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

async function instance(compress: boolean): Promise<Cache> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const cache = createCache({
    store: redisStore(client, { prefix: 'hso', commandTimeoutMs: 5000 }),
    bus: { publisher: client, subscriber: server.client(), channel: 'hso' },
    ttl: 60_000,
    ...(compress ? { compression: { threshold: 1024 } } : {}),
  })
  await cache.get('warm-up')
  return cache
}

describe('concurrent changes of one key on two instances', () => {
  it('every instance ends up serving the same value (Redis, bus)', async () => {
    const a = await instance(false)
    const b = await instance(true)
    // Both instances' bus subscriptions are live before the sets (a fixed sleep is not enough on
    // a loaded runner).
    const probe = server.client()
    await whenReady(probe)
    await vi.waitFor(
      async () => {
        const [, subscribers] = (await probe.pubsub('NUMSUB', 'hso')) as [string, number]
        expect(Number(subscribers)).toBeGreaterThanOrEqual(2)
      },
      { timeout: 10_000, interval: 20 }
    )
    probe.disconnect()
    // B's value: large, gzipped before it is written (takes a while); stamped when set() is called.
    let seed = 1
    const words: string[] = []
    for (let i = 0; i < 400_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648
      words.push(seed.toString(36))
    }
    const big = { from: 'b', text: words.join(' ') }
    const setB = b.set('config', big)
    await sleep(5)
    await a.set('config', { from: 'a' }) // stamped later, written first
    await setB
    const c = await instance(false)
    const seen = async (cache: Cache) =>
      ((await cache.get('config')) as { from: string } | undefined)?.from
    // The later stamp is A's (unless the two clocks' Redis TIME measurements differ by over 5 ms).
    // Polled: the bus messages reach the other instance (a loaded runner takes longer than any
    // fixed sleep).
    await vi.waitFor(
      async () => {
        const seenByC = await seen(c)
        expect(seenByC).toBeDefined()
        expect({ seenByA: await seen(a), seenByB: await seen(b) }).toEqual({
          seenByA: seenByC,
          seenByB: seenByC,
        })
      },
      { timeout: 10_000, interval: 20 }
    )
  }, 30_000)

  it('the store keeps the later-stamped set or delete, whichever is written last', async () => {
    const store = memoryStore()
    let t = Date.now()
    // B's clock is 5 ms behind A's: its changes, written after A's, are stamped earlier.
    const a = createCache({ store, now: () => t + 5 })
    const b = createCache({ store, now: () => t })
    const reader = () => createCache({ store, now: () => t + 5 })
    await a.set('k', 'from A')
    await b.set('k', 'from B')
    expect(await reader().get('k')).toBe('from A')
    // B's own copy is dropped: the store holds a newer value than the one it set.
    expect(b.peek('k')).toBeUndefined()
    await b.delete('k')
    expect(await reader().get('k')).toBe('from A')
    t += 100
    // Later stamps win as before: a set over the value, a delete over it.
    await b.set('k', 'from B, later')
    expect(await reader().get('k')).toBe('from B, later')
    await a.delete('k')
    expect(await reader().get('k')).toBeUndefined()
    t += 100
    await b.set('k', 'after the delete')
    expect(await reader().get('k')).toBe('after the delete')
  })
})
