/**
 * Every time the cache writes (envelope header, tag times, bus messages) is whole milliseconds, the
 * form the lock script's freshness pattern (and its JS twin) reads, even when the `now` clock has
 * sub-millisecond precision (`performance.timeOrigin + performance.now()` style).
 */
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { decodeEnvelope } from '../src/envelope.js'

/** An epoch-ms clock with fractions. */
const fractional = () => 1_800_000_000_000.25 + performance.now()

describe("the store tier's freshness test with a sub-millisecond clock", () => {
  it('a fresh stored entry is a store hit, not a refetch', async () => {
    const shared = memoryStore()
    const a = createCache({ store: shared, now: fractional })
    await a.set('k', 'filled by a')
    const b = createCache({ store: shared, now: fractional })
    let fetches = 0
    const value = await b.getOrSet('k', () => {
      fetches++
      return 'refetched by b'
    })
    expect(value).toBe('filled by a')
    expect(fetches).toBe(0)
    expect(b.stats()).toMatchObject({ storeHits: 1, stale: 0 })
  })

  it('a value filled by getOrSet is a store hit for another instance too', async () => {
    const shared = memoryStore()
    await createCache({ store: shared, now: fractional }).getOrSet('k', () => 'filled')
    const b = createCache({ store: shared, now: fractional })
    let fetched = false
    expect(
      await b.getOrSet('k', () => {
        fetched = true
        return 'refetched'
      })
    ).toBe('filled')
    expect(fetched).toBe(false)
  })

  it('envelope times and tag times are whole milliseconds (fractional windows too)', async () => {
    const shared = memoryStore()
    const cache = createCache({ store: shared, now: fractional, jitter: 0.1 })
    await cache.set('k', 1, { ttl: 1000.7, staleWhileRevalidate: 0.5, tags: ['t'] })
    await cache.getOrSet('g', () => 2, { staleIfError: 10.25 })
    for (const name of ['k', 'g']) {
      const text = await shared.get(shared.key(`cache:${name}`, 'cache'))
      const envelope = decodeEnvelope(text as string)
      expect(envelope).toBeDefined()
      const { createdAt, freshUntil, staleUntil } = envelope as NonNullable<typeof envelope>
      for (const time of [createdAt, freshUntil, staleUntil])
        expect(Number.isInteger(time)).toBe(true)
      expect(text?.startsWith(`aikit1|${freshUntil}|${staleUntil}|${createdAt}|`)).toBe(true)
    }
    await cache.invalidateTags(['t'])
    const tagTime = await shared.get(shared.key('t:t', 'cache', 'tag'))
    expect(tagTime).toMatch(/^\d+$/)
  })
})
