/**
 * README, `memory.maxBytes`: a value the serializer cannot encode is cached in no tier. JSON
 * writes a `Map`, a `Set`, an `ArrayBuffer` or a `RegExp` as `{}` and a typed array as
 * `{"0":...}` without throwing: the memory tier kept the caller's object while every other
 * instance (and this one after an eviction) read `{}` from the store. The default serializer now
 * refuses them; values JSON does keep (an empty object of the value's own, a Date's ISO string)
 * are stored as before.
 */
import { CacheSerializeError, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'

describe('the default JSON serializer', () => {
  it.each([
    ['a Map', () => new Map([['gpt-4o', 0.005]])],
    ['a Set', () => new Set(['admin', 'billing'])],
    ['an ArrayBuffer', () => new Uint8Array([1, 2, 3]).buffer],
    ['a typed array', () => new Uint8Array([1, 2, 3])],
    ['a RegExp', () => /x/],
    ['a Map nested in an answer', () => ({ content: [{ type: 'text', prices: new Map() }] })],
  ])('refuses %s: cached in no tier', async (_name, make) => {
    const store = memoryStore()
    const a = createCache({ store })
    const b = createCache({ store })
    await expect(a.set('k', make())).rejects.toBeInstanceOf(CacheSerializeError)
    expect(await a.get('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
    // getOrSet answers it uncached.
    let fetches = 0
    const value = make()
    const fetcher = () => {
      fetches++
      return value
    }
    expect(await a.getOrSet('g', fetcher)).toBe(value)
    expect(await a.getOrSet('g', fetcher)).toBe(value)
    expect(fetches).toBe(2)
  })

  it('stores what JSON keeps: empty objects of the value, a Date as its ISO string', async () => {
    const store = memoryStore()
    const a = createCache({ store })
    const b = createCache({ store })
    const when = new Date(0)
    const value = { input: {}, list: [{}], when, n: [0] }
    await a.set('k', value)
    expect(await b.get('k')).toEqual({ input: {}, list: [{}], when: when.toISOString(), n: [0] })
  })
})
