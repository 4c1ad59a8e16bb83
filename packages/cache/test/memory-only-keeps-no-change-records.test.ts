/**
 * A cache with neither a store nor a bus keeps no record of recent key changes beyond the keys
 * being fetched: there every entry is written here, so its memory tier cannot hold an entry older
 * than its key's last change. It kept the last 10,000 changed keys (their key strings, an object
 * and two boxed times each): ~1.5 MB for 10k short keys, the key text itself for long ones, on top
 * of the entries the tier is bounded to. The ordering those records guard still holds: a fill
 * whose fetch began before a `delete` or `set` is not remembered.
 */
import { createCache } from '@aikit/cache'
import { heapAfterGc } from '@aikit/testing/heap'
import { describe, expect, it } from 'vitest'

/** A fresh 16 KiB key (parsed, as a request's field is: not a slice of a shared string). */
const longKey = (i: number): string => JSON.parse(`"${'k'.repeat(16_384)}${i}"`) as string

describe('a memory-only cache and its key-change records', () => {
  it('keeps no copy of the keys it set beyond its entries', async () => {
    const cache = createCache({ memory: { maxEntries: 10 }, ttl: 60_000 })
    const before = heapAfterGc()
    // 300 distinct 16 KiB keys: ~4.9 MB if each changed key were still recorded.
    for (let i = 0; i < 300; i++) await cache.set(longKey(i), i)
    expect(heapAfterGc() - before).toBeLessThan(1.5 * 1024 * 1024)
    expect(await cache.get(longKey(299))).toBe(299)
    await cache.close()
  })

  it('does not remember a fill whose fetch began before a delete', async () => {
    const cache = createCache({ ttl: 60_000 })
    let release!: (v: string) => void
    const filling = cache.getOrSet('k', () => new Promise<string>((r) => (release = r)))
    await cache.delete('k')
    release('old')
    expect(await filling).toBe('old')
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('does not let a fill whose fetch began before a set replace the set value', async () => {
    const cache = createCache({ ttl: 60_000 })
    let release!: (v: string) => void
    const filling = cache.getOrSet('k', () => new Promise<string>((r) => (release = r)))
    await cache.set('k', 'new')
    release('old')
    await filling
    expect(await cache.get('k')).toBe('new')
    // Later changes order after the set: a new set wins, a delete removes it.
    await cache.set('k', 'newer')
    expect(await cache.get('k')).toBe('newer')
    await cache.delete('k')
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })
})
