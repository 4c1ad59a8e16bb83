/**
 * The store keeps a tag's latest invalidation, whichever instance's write lands last: an
 * invalidation whose tag-time write reaches the store after a later one's (a slow link, a retried
 * command) does not undo it, so an entry written between the two stays a miss for every instance.
 * On memoryStore (the op's JS twin) and on a real Redis (Lua). (Before, a plain SET of the time:
 * the earlier time, landing last, made that entry valid again for every instance reading the
 * store, for the rest of its TTL.)
 */
import { createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/** `inner`, whose writes (`set` and ops) wait while `held.gate` is set. */
function holding(inner: Store, held: { gate?: Promise<void> | undefined }): Store {
  const store = Object.create(inner) as Store
  store.set = async (...args) => {
    await held.gate
    return inner.set(...args)
  }
  store.run = async (...args) => {
    await held.gate
    return inner.run(...args)
  }
  return store
}

const kinds: [string, () => Promise<() => Store>][] = [
  [
    'memoryStore',
    async () => {
      const shared = memoryStore()
      return () => shared
    },
  ],
  [
    'redisStore',
    async () => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      const prefix = `tlk${Math.random().toString(36).slice(2, 8)}`
      return () => redisStore(client, { prefix, commandTimeoutMs: 5000 })
    },
  ],
]

describe.each(kinds)('tag times on %s', (_, open) => {
  it('an earlier invalidation whose write lands last does not undo a later one', async () => {
    const store = await open()
    const T = Date.now()
    const held: { gate?: Promise<void> | undefined } = {}
    // Three instances, each on its own clock (no bus: a fresh instance reads the store).
    const a = createCache({ store: holding(store(), held), ttl: 60_000, now: () => T })
    const c = createCache({ store: store(), ttl: 60_000, now: () => T + 10 })
    const b = createCache({ store: store(), ttl: 60_000, now: () => T + 20 })
    await Promise.all([a.get('warm'), b.get('warm'), c.get('warm')])

    let release = (): void => undefined
    held.gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const invalidatedByA = a.invalidateTags(['team']) // at T, its write held
    await c.set('page', 'written between the two invalidations', { tags: ['team'] }) // at T + 10
    await b.invalidateTags(['team']) // at T + 20: 'page' is out of date
    held.gate = undefined
    release()
    await invalidatedByA // A's time (T) lands last

    const fresh = createCache({ store: store(), ttl: 60_000, now: () => T + 30 })
    expect(await fresh.get('page')).toBeUndefined()
    await Promise.all([a.close(), b.close(), c.close(), fresh.close()])
  })
})
