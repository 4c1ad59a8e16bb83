/**
 * A store-tier read builds its key from a prefix split once per namespace instead of calling
 * `store.key` on every read. Whatever the key and namespace hold (`%`, `{`, `}`, `:`, NUL, other
 * Unicode), a read and a delete must address exactly the key a write used.
 */
import { memoryStore } from '@aikit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createCache } from '../src/cache.js'

// Mostly the characters that matter (escaped ones, separators, NUL, the split's probe characters).
const char = fc.oneof(
  fc.constantFrom('%', '{', '}', ':', '\u0000', '\u0001', '\u0002', 'a', 'b', 'é', '😀'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
)
const text = fc.string({ unit: char, minLength: 1, maxLength: 8 })
const namespaceName = text.filter((s) => !s.includes('\u0000'))

describe('store keys', () => {
  it('a read and a delete from another instance address the key a write used', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(namespaceName, { nil: undefined }),
        fc.option(namespaceName, { nil: undefined }),
        fc.uniqueArray(text, { minLength: 1, maxLength: 4 }),
        async (root, child, keys) => {
          const store = memoryStore()
          const open = () => {
            const cache = createCache({ store, ...(root === undefined ? {} : { namespace: root }) })
            return child === undefined ? cache : cache.namespace(child)
          }
          const writer = open()
          for (const [i, key] of keys.entries()) await writer.set(key, { i })
          const reader = open()
          for (const [i, key] of keys.entries()) expect(await reader.get(key)).toEqual({ i })
          const first = keys[0] as string
          await open().delete(first)
          expect(await open().get(first)).toBeUndefined()
          for (const [i, key] of keys.entries()) {
            if (i > 0) expect(await open().get(key)).toEqual({ i })
          }
        }
      ),
      { numRuns: 150 }
    )
    // 150 runs take ~2 s on an idle machine; a loaded 2-core runner has taken over 20 s.
  }, 90_000)
})
