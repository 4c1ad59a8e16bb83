/**
 * The cache's clock on a `redisStore` is Redis's `TIME` as seen locally (`store.now()`), so that
 * instances with skewed clocks agree on entries' times. Guaranteed here: a step of this machine's
 * wall clock (NTP, a VM resume) does not shift the stamps of the entries written right after it,
 * and an instance whose clock is an hour off stamps even its first entries on Redis's time (it
 * waits for the store's first clock measurement), reads another instance's fresh entry as fresh:
 * a later `invalidateTags` elsewhere drops those entries, and they expire after their ttl.
 */
import { createCache } from '@aikit/cache'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})
afterEach(() => {
  vi.restoreAllMocks()
})
const HOUR = 3_600_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const real = Date.now.bind(Date)
/** This machine's wall clock is `ms` off from now on. */
const skewWallClock = (ms: number) => vi.spyOn(Date, 'now').mockImplementation(() => real() + ms)

/** A cache on its own client and store, its clock measured (unless `measured` is false). */
async function instance(measured = true) {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const store = redisStore(client, { commandTimeoutMs: 2_000, prefix: 'clock-stamps' })
  if (measured) await store.clockReady()
  const cache = createCache({ store, jitter: 0, ttl: 60_000 })
  const close = async () => {
    await cache.close()
    client.disconnect()
  }
  return { store, cache, close }
}

describe('cache stamps on the store clock', () => {
  it('an entry set right after the wall clock stepped forward is dropped by a later invalidateTags elsewhere', async () => {
    const a = await instance()
    const b = await instance()
    skewWallClock(HOUR)
    await a.cache.set('k', 'old', { tags: ['t'] })
    vi.restoreAllMocks()
    // A's clock measured again. Well apart: each instance stamps on its own estimate of Redis's
    // clock, and two estimates can disagree by a measurement's round trip (long on a loaded
    // runner). A stamp an hour ahead stays ahead.
    await sleep(300)
    await b.cache.invalidateTags(['t'])
    await sleep(20)
    const c = await instance() // a fresh instance reads the shared tier
    expect(await c.cache.get('k')).toBeUndefined()
    for (const x of [a, b, c]) await x.close()
  })

  it('an entry set right after the wall clock stepped forward expires here after its ttl', async () => {
    const a = await instance()
    skewWallClock(HOUR)
    await a.cache.set('short', 'v', { ttl: 300 })
    vi.restoreAllMocks()
    await sleep(600)
    a.store.now() // the clock sees the step back and measures again
    // The measurement is a round trip: polled (a stamp an hour ahead would keep the entry).
    await vi.waitFor(async () => expect(await a.cache.get('short')).toBeUndefined(), {
      timeout: 10_000,
      interval: 20,
    })
    await a.close()
  })

  it('an instance an hour ahead stamps its first set on Redis time: a later invalidateTags drops it', async () => {
    skewWallClock(HOUR)
    const skewed = await instance(false)
    await skewed.cache.set('first', 'old', { tags: ['t2'] })
    vi.restoreAllMocks()
    await sleep(300) // well apart (see the first test)
    const b = await instance()
    await b.cache.invalidateTags(['t2'])
    const c = await instance()
    expect(await c.cache.get('first')).toBeUndefined()
    for (const x of [skewed, b, c]) await x.close()
  })

  it('an instance an hour ahead stamps its first fill on Redis time: a later invalidateTags drops it', async () => {
    skewWallClock(HOUR)
    const skewed = await instance(false)
    expect(await skewed.cache.getOrSet('filled', async () => 'old', { tags: ['t3'] })).toBe('old')
    vi.restoreAllMocks()
    await sleep(300) // well apart (see the first test)
    const b = await instance()
    await b.cache.invalidateTags(['t3'])
    const c = await instance()
    expect(await c.cache.get('filled')).toBeUndefined()
    for (const x of [skewed, b, c]) await x.close()
  })

  it('an instance an hour ahead reads another instance’s fresh entry as fresh on its first get', async () => {
    const a = await instance()
    await a.cache.set('shared', 'v')
    skewWallClock(HOUR)
    const skewed = await instance(false)
    expect(await skewed.cache.get('shared')).toBe('v')
    vi.restoreAllMocks()
    for (const x of [a, skewed]) await x.close()
  })
})
