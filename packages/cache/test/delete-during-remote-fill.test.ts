/**
 * A delete on instance A while instance B fills the key (B read the row before the delete), when
 * B's fill ends before B has heard of the delete: its bus message is late, or B has no bus. The
 * store tier must not keep what B read: an instance that reads the key afterwards (one started
 * later, with no memory of the delete) gets a miss and fetches the current row, not the deleted
 * value for a whole TTL. Both instances share one clock (injected), so the delete comes strictly
 * after the fill started, as a delete in the middle of a fetch does.
 */
import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/** A bus subscriber whose messages reach the cache only once `deliver()` is called (a late bus). */
function lateSubscriber(sub: Redis) {
  const held: [string, string][] = []
  let listener: ((channel: string, message: string) => void) | undefined
  let holding = true
  sub.on('message', (channel: string, message: string) => {
    if (holding) held.push([channel, message])
    else listener?.(channel, message)
  })
  return {
    subscriber: {
      subscribe: (channel: string) => sub.subscribe(channel),
      unsubscribe: (channel: string) => sub.unsubscribe(channel),
      on: (_event: 'message', l: (channel: string, message: string) => void) => {
        listener = l
      },
      off: () => {
        listener = undefined
      },
    },
    deliver() {
      holding = false
      for (const [channel, message] of held.splice(0)) listener?.(channel, message)
    },
  }
}

describe("delete during another instance's fill, the fill ending first", () => {
  it.each(['a late bus message', 'no bus'] as const)('with %s', async (how) => {
    const prefix = `dr${runId}${how.length}`
    const channel = `${prefix}-bus`
    let clock = 1_800_000_000_000
    const now = () => clock
    const open = async (bus: 'on' | 'late' | 'off') => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      const sub = server.client()
      await Promise.all([whenReady(client), whenReady(sub)])
      const late = bus === 'late' ? lateSubscriber(sub) : undefined
      const cache = createCache({
        store: redisStore(client, { prefix, commandTimeoutMs: 2000 }),
        namespace: 'app',
        now,
        ...(bus === 'off'
          ? {}
          : { bus: { publisher: client, subscriber: late ? late.subscriber : sub, channel } }),
      })
      return { cache, late }
    }
    const a = await open('on')
    const b = await open(how === 'no bus' ? 'off' : 'late')
    await whenSubscribed(channel, how === 'no bus' ? 1 : 2)

    let db = 'v1'
    let release!: () => void
    const slow = new Promise<void>((resolve) => {
      release = resolve
    })
    let readByB!: () => void
    const bRead = new Promise<void>((resolve) => {
      readByB = resolve
    })
    // B takes the fill lock and reads the row ...
    const fillB = b.cache.getOrSet('order', async () => {
      const row = db
      readByB()
      await slow
      return row
    })
    await bRead
    // ... 10 ms later the row changes and A deletes the key ...
    clock += 10
    db = 'v2'
    await a.cache.delete('order')
    // ... and B's fill ends before B hears of it.
    release()
    expect(await fillB).toBe('v1') // concurrent with the delete: either answer is fine
    // Later, an instance started after the delete (no memory of it) reads the store tier.
    clock += 10
    const c = await open('on')
    expect(await c.cache.get('order')).toBeUndefined()
    expect(await c.cache.getOrSet('order', () => db)).toBe('v2')
    b.late?.deliver()
    expect(await b.cache.get('order')).toBe('v2')
    expect(await a.cache.get('order')).toBe('v2')
    await Promise.all([a.cache.close(), b.cache.close(), c.cache.close()])
  })

  it('a fill that starts after the delete stores its value (the delete leaves no lasting mark)', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const store = redisStore(client, { prefix: `dn${runId}`, commandTimeoutMs: 2000 })
    const a = createCache({ store, namespace: 'app' })
    await a.set('k', 'old')
    await a.delete('k')
    const b = createCache({ store, namespace: 'app' })
    expect(await b.get('k')).toBeUndefined()
    expect(await b.getOrSet('k', () => 'new')).toBe('new')
    const c = createCache({ store, namespace: 'app' })
    expect(await c.get('k')).toBe('new')
    expect(c.stats().storeHits).toBe(1)
  })
})

/** Resolves when `count` connections are subscribed to `channel` (PUBSUB NUMSUB, bounded wait). */
async function whenSubscribed(channel: string, count: number): Promise<void> {
  const probe = server.client()
  for (let i = 0; i < 200; i++) {
    const reply = (await probe.pubsub('NUMSUB', channel)) as [string, number]
    if (Number(reply[1]) >= count) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  probe.disconnect()
}
