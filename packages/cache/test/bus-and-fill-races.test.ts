/**
 * Races between instances on a real redis-server:
 * - A read of the store tier that was answered before another instance's change, but is handled
 *   after the bus told this instance about the change, does not leave the old value in memory.
 * - A fill whose lock expired (another instance has filled since) does not overwrite that fill.
 * - A delete on one instance while another fills: the fill read before the delete is not stored.
 * Commands get a 2 s timeout (the store's 50 ms default is for production, not a loaded CI box).
 */
import { createCache } from '@aikit/cache'
import type { Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  await whenReady(server.client())
})
afterAll(async () => {
  await server?.stop()
})

/** Resolves once `client` (a subscriber) has received `count` messages on `channel`. */
function messages(client: Redis, channel: string): (count: number) => Promise<void> {
  let seen = 0
  const waiting: { count: number; resolve: () => void }[] = []
  client.on('message', (ch: string) => {
    if (ch !== channel) return
    seen++
    for (const w of waiting.splice(0)) {
      if (seen >= w.count) w.resolve()
      else waiting.push(w)
    }
  })
  return (count) =>
    seen >= count ? Promise.resolve() : new Promise((resolve) => waiting.push({ count, resolve }))
}

/** `store` whose first `get` reads Redis at once but hands the reply over only when `release()`d. */
function delayedFirstGet(store: Store): {
  store: Store
  read: Promise<void>
  release: () => void
} {
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let markRead!: () => void
  const read = new Promise<void>((resolve) => {
    markRead = resolve
  })
  let first = true
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return async (key: string) => {
          const value = await target.get(key)
          if (first) {
            first = false
            markRead()
            await released
          }
          return value
        }
      }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { store: proxy, read, release }
}

describe('bus ordering (real Redis)', () => {
  it('a store read answered before a change but handled after its bus message does not pin the old value', async () => {
    const channel = `race-bus-${runId}`
    const prefix = `hb${runId}`
    const clientA = server.client({ maxRetriesPerRequest: 1 })
    const clientB = server.client({ maxRetriesPerRequest: 1 })
    const subA = server.client()
    const subB = server.client()
    await Promise.all([clientA, clientB, subA, subB].map((c) => whenReady(c)))
    const a = createCache({
      store: redisStore(clientA, { prefix, commandTimeoutMs: 2000 }),
      namespace: 'app',
      bus: { publisher: clientA, subscriber: subA, channel },
    })
    const gated = delayedFirstGet(redisStore(clientB, { prefix, commandTimeoutMs: 2000 }))
    const b = createCache({
      store: gated.store,
      namespace: 'app',
      bus: { publisher: clientB, subscriber: subB, channel },
    })
    const seenByB = messages(subB, channel)
    // Let both SUBSCRIBEs land.
    await whenSubscribed(channel, 2)

    await a.set('profile', 'v1')
    await seenByB(1)

    // B reads the store tier: Redis answers 'v1' ...
    const reading = b.get('profile')
    await gated.read
    // ... then A changes the key, and B is told about it on the bus before it handles that reply.
    await a.set('profile', 'v2')
    await seenByB(2)
    gated.release()
    await reading // 'v1': concurrent with the change, either answer is acceptable

    // After the change and its bus message, B must not keep serving the old value from memory.
    expect(await b.get('profile')).toBe('v2')
    await Promise.all([a.close(), b.close()])
  })
})

describe('fill lock expiry (real Redis)', () => {
  it("a fill whose lock expired and was superseded does not overwrite the newer fill's value", async () => {
    const prefix = `hl${runId}`
    const instance = async () => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      const store = redisStore(client, { prefix, commandTimeoutMs: 2000 })
      // No renewal (`lockMaxHold: 0`): A's lock lapses as one whose renewals did not reach Redis.
      const cache = createCache({
        store,
        namespace: 'app',
        jitter: 0,
        lockTtl: 300,
        lockMaxHold: 0,
      })
      return { store, cache }
    }
    const a = await instance()
    const b = await instance()
    const raw = server.client()
    let db = 'v1'
    let release!: () => void
    const slow = new Promise<void>((resolve) => {
      release = resolve
    })
    let readByA!: () => void
    const aRead = new Promise<void>((resolve) => {
      readByA = resolve
    })
    // A takes the fill lock and reads the row, then stalls past the lock's lifetime.
    const fillA = a.cache.getOrSet('stock', async () => {
      const row = db
      readByA()
      await slow
      return row
    })
    await aRead
    db = 'v2'
    // Wait (bounded) until Redis has expired A's lock.
    const lockKey = a.store.key('app:stock', 'cache', 'lock')
    for (let i = 0; i < 200 && (await raw.exists(lockKey)) === 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(await raw.exists(lockKey)).toBe(0)
    // B finds the lock free, takes it and fills with the current row.
    expect(await b.cache.getOrSet('stock', () => db)).toBe('v2')
    release()
    expect(await fillA).toBe('v1')
    // A later reader (a third instance, empty memory) must see B's newer fill, not A's late one.
    const c = await instance()
    expect(await c.cache.get('stock')).toBe('v2')
    // A does not keep its own late fill in memory either.
    expect(a.cache.peek('stock')).toBeUndefined()
    expect(await a.cache.get('stock')).toBe('v2')
    raw.disconnect()
  })
})

describe("delete during another instance's fill (real Redis, bus)", () => {
  it('the fill that read before the delete is stored nowhere; the next call fetches again', async () => {
    const channel = `race-del-${runId}`
    const prefix = `hd${runId}`
    const clientA = server.client({ maxRetriesPerRequest: 1 })
    const clientB = server.client({ maxRetriesPerRequest: 1 })
    const subA = server.client()
    const subB = server.client()
    await Promise.all([clientA, clientB, subA, subB].map((c) => whenReady(c)))
    const open = (client: Redis, sub: Redis) =>
      createCache({
        store: redisStore(client, { prefix, commandTimeoutMs: 2000 }),
        namespace: 'app',
        bus: { publisher: client, subscriber: sub, channel },
      })
    const a = open(clientA, subA)
    const b = open(clientB, subB)
    const seenByB = messages(subB, channel)
    await whenSubscribed(channel, 2)

    let db = 'v1'
    let release!: () => void
    const slow = new Promise<void>((resolve) => {
      release = resolve
    })
    let readByB!: () => void
    const bRead = new Promise<void>((resolve) => {
      readByB = resolve
    })
    // B fills under the lock and reads the row ...
    const fillB = b.getOrSet('order', async () => {
      const row = db
      readByB()
      await slow
      return row
    })
    await bRead
    // ... the row changes and A deletes the key; B hears of it on the bus before its fill ends.
    db = 'v2'
    await a.delete('order')
    await seenByB(1)
    release()
    expect(await fillB).toBe('v1') // concurrent with the delete: either answer is fine
    expect(b.peek('order')).toBeUndefined()
    // Nothing stale in the store: a call after the delete fetches the current row.
    expect(await a.getOrSet('order', () => db)).toBe('v2')
    expect(await b.get('order')).toBe('v2')
    await Promise.all([a.close(), b.close()])
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
