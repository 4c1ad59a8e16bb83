/**
 * Defaults README.md states, observed through the public API with the option left out:
 * `memoryStore`'s `maxKeys` 100 000 and `prefix` `'aikit'`, and `ctx.json()`'s `maxDepth`
 * (`BodyLimits`), which defaults to the adapter's `maxJsonDepth` (64 unless set).
 * (`aikitEnv`'s and `defineEnv`'s defaults are pinned by env.test.ts; the adapter options and
 * `compress()`'s by @aikit/adapters' documented-defaults test.)
 */
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { TestContext } from './test-context.js'

describe('memoryStore defaults', () => {
  it("builds keys under the prefix 'aikit'", () => {
    expect(memoryStore().key('user:1', 'rl', 'x')).toBe('aikit:{user:1}:rl:x')
  })

  it('holds 100 000 keys (maxKeys), evicting the least recently used past it', async () => {
    const store = memoryStore()
    for (let i = 0; i < 100_000; i++) await store.set(`k${i}`, 'v', { ttlMs: 60_000 })
    expect(store.stats()).toEqual({ keys: 100_000, evictions: 0 })
    await store.set('k100000', 'v', { ttlMs: 60_000 })
    expect(store.stats()).toEqual({ keys: 100_000, evictions: 1 })
    expect(await store.get('k0')).toBeUndefined()
    expect(await store.get('k1')).toBe('v')
  })
})

describe("ctx.json()'s maxDepth defaults to the adapter's maxJsonDepth", () => {
  const json = (body: string, options?: { maxJsonDepth?: number }) =>
    new TestContext({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      ...(options === undefined ? {} : { options }),
    }).json()
  const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`

  it('64 when the adapter sets nothing', async () => {
    await expect(json(nested(64))).resolves.toBeInstanceOf(Array)
    await expect(json(nested(65))).rejects.toMatchObject({ status: 400 })
  })

  it("the adapter's maxJsonDepth when it sets one", async () => {
    await expect(json(nested(80), { maxJsonDepth: 100 })).resolves.toBeInstanceOf(Array)
  })
})
