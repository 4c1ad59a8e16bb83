/**
 * The memory tier's byte bound (`memory.maxBytes`) counts each value's serialized text in UTF-8
 * bytes, and a value the serializer cannot encode (so cannot be measured) is not cached at all.
 */
import { Buffer } from 'node:buffer'
import { type CacheErrorInfo, CacheSerializeError, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { countUtf8, utf8Length } from '../src/utf8.js'

describe('a value the serializer cannot encode (BigInt, cycles)', () => {
  it('set() rejects with CacheSerializeError and keeps it in no tier, so maxBytes holds', async () => {
    // 100 kB budget; five values of ~1 MB each whose JSON.stringify throws (a BigInt field).
    const cache = createCache({ memory: { maxBytes: 100_000 } })
    for (let i = 0; i < 5; i++) {
      const set = cache.set(`row${i}`, { id: BigInt(i), blob: 'x'.repeat(1_000_000) })
      await expect(set).rejects.toBeInstanceOf(CacheSerializeError)
      await expect(set).rejects.toMatchObject({ code: 'CACHE_SERIALIZE', status: 500 })
      await expect(set).rejects.toHaveProperty('cause', expect.any(TypeError))
    }
    let kept = 0
    for (let i = 0; i < 5; i++) if (cache.peek(`row${i}`) !== undefined) kept++
    expect(kept).toBe(0)
  })

  it('a cycle is refused the same way, and the value it replaced stays', async () => {
    const store = memoryStore()
    const cache = createCache({ store })
    await cache.set('node', { ok: true })
    const node: Record<string, unknown> = {}
    node.self = node
    await expect(cache.set('node', node)).rejects.toBeInstanceOf(CacheSerializeError)
    expect(cache.peek('node')).toEqual({ ok: true })
    expect(await createCache({ store }).get('node')).toEqual({ ok: true })
    expect(cache.stats().storeErrors).toBe(0)
  })

  it('getOrSet answers the fetched value, caches it nowhere, and reports it on error', async () => {
    const store = memoryStore()
    const cache = createCache({ store })
    const errors: CacheErrorInfo[] = []
    cache.on('error', (info) => errors.push(info))
    let fetches = 0
    const fetcher = () => {
      fetches++
      return { id: 7n }
    }
    expect(await cache.getOrSet('big', fetcher)).toEqual({ id: 7n })
    expect(cache.peek('big')).toBeUndefined()
    expect(await cache.getOrSet('big', fetcher)).toEqual({ id: 7n })
    expect(fetches).toBe(2)
    expect(errors).toHaveLength(2)
    expect(errors[0]?.source).toBe('serializer')
    expect(errors[0]?.error).toBeInstanceOf(CacheSerializeError)
    // Not a store failure, and the lock the first call took was released for the second.
    expect(cache.stats()).toMatchObject({ storeErrors: 0, busErrors: 0 })
  })

  it('a serializer that returns no string is refused the same way', async () => {
    const cache = createCache({
      serializer: { serialize: () => 42 as unknown as string, deserialize: (t) => t },
    })
    await expect(cache.set('k', 'v')).rejects.toBeInstanceOf(CacheSerializeError)
    expect(cache.peek('k')).toBeUndefined()
  })
})

describe('sizes are UTF-8 bytes', () => {
  it('measures the serialized size in bytes, not UTF-16 code units', async () => {
    // 60 000 CJK characters: 180 kB of UTF-8 (120 kB even as a JS two-byte string).
    const cache = createCache({ memory: { maxBytes: 100_000 } })
    await cache.set('doc', '字'.repeat(60_000))
    expect(cache.peek('doc')).toBeUndefined()
    // The same number of ASCII characters fits.
    await cache.set('ascii', 'x'.repeat(60_000))
    expect(cache.peek('ascii')).toBe('x'.repeat(60_000))
  })

  it('an entry read from the store is measured the same way', async () => {
    const store = memoryStore()
    await createCache({ store }).set('doc', '字'.repeat(60_000))
    const reader = createCache({ store, memory: { maxBytes: 100_000 } })
    expect(await reader.get('doc')).toBe('字'.repeat(60_000))
    expect(reader.peek('doc')).toBeUndefined()
  })

  it('the edge-safe count agrees with Buffer.byteLength on any string (lone surrogates too)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        for (const text of [a, b, a + b, `\uD800${a}`, `${b}\uDC00`]) {
          expect(countUtf8(text)).toBe(Buffer.byteLength(text, 'utf8'))
          expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'))
        }
      }),
      { numRuns: 200 }
    )
    expect(countUtf8('a\u00e9\u4e2d\u{1F600}')).toBe(1 + 2 + 3 + 4)
  })
})
