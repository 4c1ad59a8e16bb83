/**
 * A fill that holds no lock (its lock op failed: a command timeout of a slow Redis; or it waited
 * past its deadline for another instance's lock) writes the store only over an older value, as a
 * fill under the lock does: never over a `set` made elsewhere while it fetched, nor over the
 * tombstone of a `delete` made meanwhile (which would bring the deleted key back).
 */
import { type Cache, createCache } from '@aikit/cache'
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let server: RedisServer
let raw: Redis
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  raw = server.client()
  await whenReady(raw)
})
afterAll(async () => {
  await server?.stop()
})

/** `commandTimeoutMs`: 100 for A (its lock op must time out), longer for B (it must be answered). */
async function instance(commandTimeoutMs: number): Promise<Cache> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { prefix: `h${runId}`, commandTimeoutMs })
  const cache = createCache({ store, namespace: 'app', ttl: 60_000, jitter: 0 })
  await cache.get('warm-up') // the store clock is measured
  return cache
}

/**
 * A's getOrSet meets a Redis paused for 1 s: its lock op times out (store error, degraded), so it
 * fetches without the lock (slow fetcher, 1.5 s). Redis comes back; B changes the key; then A's
 * fetch ends and writes what it read before B's change. (The pause outlasts A's 100 ms timeout by
 * far: a loaded runner's late timer must still find no reply.)
 */
async function raceWith(change: (b: Cache) => Promise<void>, key: string) {
  const a = await instance(100)
  const b = await instance(2_000)
  const errors: unknown[] = []
  a.on('error', (info) => errors.push(info))
  await raw.call('CLIENT', 'PAUSE', '1000', 'ALL')
  const filling = a.getOrSet(key, async () => {
    await sleep(1_500)
    return 'read before the change'
  })
  await sleep(1_150) // Redis answers again, A's fetch still runs
  await change(b)
  expect(await filling).toBe('read before the change')
  expect(errors.length).toBeGreaterThan(0) // the lock op did fail (the degraded path ran)
  await sleep(50)
  return createCache({
    store: redisStore(server.client({ maxRetriesPerRequest: 1 }), {
      prefix: `h${runId}`,
      commandTimeoutMs: 2000,
    }),
    namespace: 'app',
  })
}

/** A memory store shared by two instances, whose next lock op fails once `failNext` is set. */
function flakyStore(): Store & { failNext: boolean } {
  const inner = memoryStore()
  const store = Object.create(inner) as Store & { failNext: boolean }
  store.failNext = false
  store.run = (op, keys, input) => {
    if (store.failNext && op.name === 'cache.readOrLock') {
      store.failNext = false
      return Promise.reject(new Error('command timed out'))
    }
    return inner.run(op, keys, input)
  }
  return store
}

describe('a fill without the lock', () => {
  it('does not overwrite a newer set() made on another instance while it fetched', async () => {
    const c = await raceWith((b) => b.set('k1', 'newer value'), 'k1')
    expect(await c.get('k1')).toBe('newer value')
  })

  it('does not resurrect a key deleted on another instance while it fetched', async () => {
    const c = await raceWith(async (b) => {
      await b.set('k2', 'v0')
      await b.delete('k2')
    }, 'k2')
    expect(await c.get('k2')).toBeUndefined()
  })

  it('on a memory store too: a set and a delete made meanwhile are kept', async () => {
    const store = flakyStore()
    const a = createCache({ store })
    const b = createCache({ store })
    for (const [key, change] of [
      ['set', () => b.set('set', 'newer value')],
      ['deleted', () => b.set('deleted', 'v0').then(() => b.delete('deleted'))],
    ] as const) {
      let finish: (value: string) => void = () => undefined
      store.failNext = true
      const filling = a.getOrSet(key, () => new Promise<string>((resolve) => (finish = resolve)))
      await sleep(5)
      expect(store.failNext).toBe(false) // the lock op failed: A fetches without the lock
      await sleep(2) // B's change is stamped after A's fetch started
      await change()
      finish('read before the change')
      expect(await filling).toBe('read before the change')
    }
    const c = createCache({ store })
    expect(await c.get('set')).toBe('newer value')
    expect(await c.get('deleted')).toBeUndefined()
    // The fill that found a newer value does not keep its own in memory either.
    expect(a.peek('set')).toBeUndefined()
  })
})
