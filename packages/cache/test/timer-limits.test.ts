/**
 * Durations the cache waits on with `setTimeout` (timeouts, lockTtl, pollInterval) are refused above
 * 2^31 - 1 ms, the longest delay a timer can wait: Node fires a longer one after 1 ms.
 */
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { invalidField, rejectedField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'

const MAX = 2 ** 31 - 1

describe('durations longer than setTimeout can count (2^31 - 1 ms)', () => {
  it('createCache refuses them and names the field', () => {
    expect(invalidField(() => createCache({ timeouts: { hard: 2 ** 31 } }))).toBe('timeouts.hard')
    expect(invalidField(() => createCache({ timeouts: { soft: 2 ** 31 } }))).toBe('timeouts.soft')
    expect(invalidField(() => createCache({ lockTtl: 2 ** 31 }))).toBe('lockTtl')
    expect(invalidField(() => createCache({ pollInterval: 2 ** 31 }))).toBe('pollInterval')
    expect(invalidField(() => createCache({ lockMaxHold: 2 ** 31 }))).toBe('lockMaxHold')
    // The limit itself, and Infinity (no timeout), are accepted.
    expect(
      invalidField(() =>
        createCache({
          store: memoryStore(),
          timeouts: { soft: MAX, hard: MAX },
          lockTtl: MAX,
          lockMaxHold: MAX,
          pollInterval: MAX,
        })
      )
    ).toBeUndefined()
    expect(invalidField(() => createCache({ timeouts: { soft: Infinity, hard: Infinity } }))).toBe(
      undefined
    )
    // Entry lifetimes are no timers: a year-long ttl stays valid.
    expect(invalidField(() => createCache({ ttl: 365 * 24 * 3600 * 1000 }))).toBeUndefined()
  })

  it('a per-call hard timeout of 2^31 ms is refused instead of firing after 1 ms', async () => {
    const cache = createCache()
    let fetched = false
    const call = cache.getOrSet(
      'report',
      () => {
        fetched = true
        return 'done'
      },
      { timeouts: { hard: 2 ** 31 } }
    )
    expect(await rejectedField(call)).toBe('timeouts.hard')
    expect(fetched).toBe(false)
  })

  it('a per-call soft timeout of 2^31 ms is refused instead of answering stale after 1 ms', async () => {
    let t = 1_000_000
    const cache = createCache({ now: () => t, jitter: 0, ttl: 1000, staleIfError: 60_000 })
    await cache.set('report', 'old')
    t += 2000 // stale (past ttl, inside staleIfError)
    const call = cache.getOrSet('report', () => 'new', { timeouts: { soft: 2 ** 31 } })
    expect(await rejectedField(call)).toBe('timeouts.soft')
  })

  it('timeouts of 2^31 - 1 ms do not fire early', async () => {
    let t = 1_000_000
    const cache = createCache({ now: () => t, jitter: 0, ttl: 1000, staleIfError: 60_000 })
    await cache.set('report', 'old')
    t += 2000
    const value = await cache.getOrSet(
      'report',
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 20))
        return 'new'
      },
      { timeouts: { soft: MAX, hard: MAX } }
    )
    expect(value).toBe('new')
    expect(cache.stats()).toMatchObject({ timeouts: 0, stale: 0 })
  })
})
