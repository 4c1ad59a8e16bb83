/**
 * The store tier on a real redis-server. "Instances" here are separate `createCache` calls, each with
 * its own ioredis connections and `redisStore`: they share nothing in process, only Redis.
 */

import { type Cache, type CacheOptions, createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Polls `check` every 5 ms until it holds; fails after 3 s (a loaded machine delivers late). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 3000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}
/** How many connections listen on `channel`. */
const listeners = async (channel: string) =>
  Number(((await raw.pubsub('NUMSUB', channel)) as [string, number])[1])
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

/** A cache instance with its own connections (store client, bus publisher, bus subscriber). */
async function instance(options: Partial<CacheOptions> = {}, bus = true): Promise<Cache> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { prefix: `t${runId}`, commandTimeoutMs: 2000 })
  const before = bus ? await listeners(`bus${runId}`) : 0
  const cache = createCache({
    store,
    namespace: 'app',
    ...(bus
      ? { bus: { publisher: client, subscriber: server.client(), channel: `bus${runId}` } }
      : {}),
    ...options,
  })
  // Its SUBSCRIBE has landed once Redis counts one more listener on the channel.
  if (bus) await until('SUBSCRIBE', async () => (await listeners(`bus${runId}`)) > before)
  return cache
}

describe('store tier (real Redis)', () => {
  it('a value set on one instance is read by another in one round trip', async () => {
    const a = await instance()
    const b = await instance()
    await a.set('shared', { text: 'hello' })
    expect(await b.get('shared')).toEqual({ text: 'hello' })
    expect(b.stats().storeHits).toBe(1)
    expect(b.peek('shared')).toEqual({ text: 'hello' })
  })

  it('1,000 concurrent getOrSet across two instances (500 each) make exactly one fetch', async () => {
    const a = await instance({}, false)
    const b = await instance({}, false)
    let fetches = 0
    const fetcher = async () => {
      fetches++
      await sleep(50)
      return { filled: true }
    }
    const calls = Array.from({ length: 1000 }, (_, i) =>
      (i % 2 === 0 ? a : b).getOrSet('stampede', fetcher)
    )
    const results = await Promise.all(calls)
    expect(fetches).toBe(1)
    expect(results.every((r) => r.filled === true)).toBe(true)
  })

  it('with a bus, waiters on the other instance wake on the fill message instead of polling', async () => {
    const a = await instance({ pollInterval: 5_000 })
    const b = await instance({ pollInterval: 5_000 })
    let fetches = 0
    const fetcher = async () => {
      fetches++
      await sleep(50)
      return 'v'
    }
    await Promise.all([a.getOrSet('woken', fetcher), b.getOrSet('woken', fetcher)])
    expect(fetches).toBe(1)
    // Polling every 5 s could not have answered before the 3 s test timeout: the bus woke the waiter.
  }, 3000)

  it('the bus drops other instances’ memory copies on set, delete and tag invalidation', async () => {
    const a = await instance()
    const b = await instance()
    await a.set('k', 'v1', { tags: ['t1'] })
    expect(await b.get('k')).toBe('v1')
    await a.set('k', 'v2', { tags: ['t1'] })
    await until('the set message', () => b.peek('k') === undefined)
    expect(await b.get('k')).toBe('v2')
    await a.invalidateTags(['t1'])
    await until('the tag message', () => b.peek('k') === undefined)
    expect(await b.get('k')).toBeUndefined()
    await a.set('d', 1)
    expect(await b.get('d')).toBe(1)
    await a.delete('d')
    await until('the delete message', () => b.peek('d') === undefined)
    expect(await b.get('d')).toBeUndefined()
  })

  it('bus: { client } duplicates the connection for subscribing and works the same', async () => {
    const make = async () => {
      const client = server.client({ maxRetriesPerRequest: 1 })
      await whenReady(client)
      return createCache({
        store: redisStore(client, { prefix: `t${runId}`, commandTimeoutMs: 2000 }),
        namespace: 'dup',
        bus: { client, channel: `dup${runId}` },
      })
    }
    const a = await make()
    await until('the first SUBSCRIBE', async () => (await listeners(`dup${runId}`)) >= 1)
    const b = await make()
    await until('the second SUBSCRIBE', async () => (await listeners(`dup${runId}`)) >= 2)
    await a.set('k', 1)
    expect(await b.get('k')).toBe(1)
    await a.set('k', 2)
    await until('the set message', () => b.peek('k') === undefined)
    await Promise.all([a.close(), b.close()])
  })

  it('bus: { client } handles the errors of the connection it duplicated (no unhandled error event)', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const duplicate = client.duplicate.bind(client)
    let owned: ReturnType<typeof duplicate> | undefined
    client.duplicate = (...args: Parameters<typeof duplicate>) => {
      owned = duplicate(...args)
      return owned
    }
    const cache = createCache({
      store: redisStore(client, { prefix: `t${runId}`, commandTimeoutMs: 2000 }),
      namespace: 'dup-errors',
      bus: { client, channel: `dup-errors${runId}` },
    })
    const errors: unknown[] = []
    cache.on('error', (info) => errors.push(info))
    expect(owned?.listenerCount('error')).toBeGreaterThan(0)
    owned?.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:1')) // as during an outage
    expect(errors).toEqual([{ source: 'bus', error: expect.any(Error) }])
    expect(cache.stats().busErrors).toBe(1)
    await cache.close()
  })

  it('a tag invalidated on one instance is a miss in the store tier for another (no bus)', async () => {
    const a = await instance({}, false)
    await a.set('tagged', 'x', { tags: ['team:7'] })
    await a.invalidateTags(['team:7'])
    const c = await instance({}, false)
    expect(await c.get('tagged')).toBeUndefined()
    let n = 0
    expect(await c.getOrSet('tagged', () => `fresh${++n}`)).toBe('fresh1')
  })

  it('stores a versioned envelope, and treats another format version as a miss', async () => {
    const a = await instance({}, false)
    await a.set('env', { ok: 1 })
    const key = (await raw.keys(`t${runId}:{app:env}*`))[0] as string
    const stored = (await raw.get(key)) as string
    expect(stored.startsWith('aikit1|')).toBe(true)
    await raw.set(key, `aikit9|${stored.slice(7)}`)
    const b = await instance({}, false)
    expect(await b.get('env')).toBeUndefined()
    expect(await b.getOrSet('env', () => 'refilled')).toBe('refilled')
  })

  it('compresses large values and reads them back', async () => {
    const a = await instance({ compression: { threshold: 100 } }, false)
    const big = { text: 'lorem ipsum '.repeat(500) }
    await a.set('big', big)
    const key = (await raw.keys(`t${runId}:{app:big}*`))[0] as string
    const stored = (await raw.get(key)) as string
    expect(stored.split('|')[4]).toBe('gz')
    expect(stored.length).toBeLessThan(1000)
    const b = await instance({ compression: { threshold: 100 } }, false)
    expect(await b.get('big')).toEqual(big)
  })

  it('refresh takes the lock and refills even when the stored value is fresh', async () => {
    const a = await instance({}, false)
    await a.set('r', 'old')
    const b = await instance({}, false)
    expect(await b.getOrSet('r', () => 'new', { refresh: true })).toBe('new')
    const c = await instance({}, false)
    expect(await c.get('r')).toBe('new')
  })

  it('keys ending in half of an emoji stay distinct on Redis (UTF-8 would make both U+FFFD)', async () => {
    const a = await instance({}, false)
    const b = await instance({}, false)
    const k1 = 'summary:I love 😀 cats'.slice(0, 16) // ends in '\ud83d'
    const k2 = 'summary:I love 🤖 bots'.slice(0, 16) // ends in '\ud83e'
    await a.set(k1, 'cats')
    await a.set(k2, 'bots')
    expect(await b.get(k1)).toBe('cats')
    expect(await b.get(k2)).toBe('bots')
  })
})
