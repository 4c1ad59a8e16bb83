/**
 * The factories refuse unknown option keys "instead of being ignored while the default applies (a
 * misspelt `staleWhileRevalidate` ... would silently change what is served)" (unknown-options
 * test, README "createCache"). The per-call options take the same names and ignore a misspelt one:
 * `set(key, value, { tag: [...] })` stores an entry with no tag, so `invalidateTags` never drops it
 * and the old value keeps being served; `timeouts: { hrad }` runs with no hard timeout; an LLM call
 * with `{ nostore: true }` stores the answer it asked not to store.
 */
import { createCache, createLlmCache } from '@aikit/cache'
import { rejectedField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'

describe('per-call option keys', () => {
  it('set() with a misspelt `tags` is refused, not stored untagged', async () => {
    const cache = createCache()
    const field = await rejectedField(cache.set('price', 10, { tag: ['product:1'] } as never))
    if (field === undefined) {
      // What the typo does: the entry survives the invalidation of its tag.
      await cache.invalidateTags(['product:1'])
      expect(cache.peek('price')).toBeUndefined()
    }
    expect(field).toBe('tag')
  })

  it('getOrSet() with a misspelt timeouts key is refused', async () => {
    const cache = createCache()
    const field = await rejectedField(
      cache.getOrSet('k', () => 1, { timeouts: { hrad: 100 } } as never)
    )
    expect(field).toBe('timeouts.hrad')
  })

  it('an LLM call with a misspelt noStore is refused, not stored', async () => {
    const cache = createCache()
    const llm = createLlmCache(cache)
    const params = { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] }
    const answer = { stop_reason: 'end_turn', content: [] }
    const field = await rejectedField(
      llm.complete(params, { scope: 'u1', nostore: true } as never, async () => answer)
    )
    expect(field).toBe('nostore')
  })
})
