/**
 * The default cache key memoises the quoted text of member names up to 256 characters only:
 * names come from request params (`metadata` keys), so a memo of any length (1,024 names and their
 * quoted copies, module-level) let a client pin megabytes per entry. A longer name is quoted each
 * time, to the same key.
 */

import { heapAfterGc } from '@aikit/testing/heap'
import { describe, expect, it } from 'vitest'
import { defaultCacheKey, stableStringify } from '../src/shared/cache-key.js'

const ctx = { scope: 's', api: 'openai.chat' } as never

describe('cache key: the member name memo is bounded in name length', () => {
  it('keeps no copy of long member names it has seen', async () => {
    const before = heapAfterGc()
    // 300 requests, each with one 64 KiB key in its `metadata` (inside a 1 MB body): ~39 MB if
    // each name and its quoted copy were kept.
    for (let i = 0; i < 300; i++) {
      const params = JSON.parse(
        `{"model":"gpt-4o","messages":[],"metadata":{"${'k'.repeat(65_536)}${i}":"v"}}`
      ) as Record<string, unknown>
      await defaultCacheKey(params, ctx)
    }
    expect(heapAfterGc() - before).toBeLessThan(5 * 1024 * 1024)
  })

  it('quotes a long name as JSON does, to the same key every time', async () => {
    const name = `"\\${'n'.repeat(300)}\u2028`
    const params = { model: 'gpt-4o', metadata: { [name]: 'v' } }
    expect(stableStringify(params)).toBe(
      JSON.stringify({ metadata: { [name]: 'v' }, model: 'gpt-4o' })
    )
    const first = await defaultCacheKey(params, ctx)
    expect(await defaultCacheKey({ metadata: { [name]: 'v' }, model: 'gpt-4o' }, ctx)).toBe(first)
    expect(
      await defaultCacheKey({ model: 'gpt-4o', metadata: { [`${name}x`]: 'v' } }, ctx)
    ).not.toBe(first)
  })
})
