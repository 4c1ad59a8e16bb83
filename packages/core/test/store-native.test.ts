/**
 * Native op bodies (the memory store's hot path): the store runs `native` instead of `js`, values
 * keep their identity, expiry is lazy on the store's clock, a type clash with a `js` op fails like
 * Redis's WRONGTYPE, and the definition is validated.
 */
import { defineOp, InvalidOptionsError, memoryStore, type NativeData } from '@aikit/core'
import { describe, expect, it } from 'vitest'

interface Counter {
  n: number
}

const bump = defineOp<number, number>({
  name: 'bump',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  native: (data: NativeData, keys, by, nowMs) => {
    const key = keys[0] as string
    const cur = data.get(key) as Counter | undefined
    const next = { n: (cur?.n ?? 0) + by }
    data.set(key, next, 1000)
    return next.n + nowMs * 0
  },
  encode: (by) => [String(by)],
  decode: (reply) => reply as number,
})

const ttlOf = defineOp<null, number>({
  name: 'ttlOf',
  lua: "return redis.call('PTTL', KEYS[1])",
  native: (data, keys) => data.pttl(keys[0] as string),
  encode: () => [],
  decode: (reply) => reply as number,
})

describe('native op bodies on memoryStore', () => {
  it('runs the native body, with lazy expiry on the store clock', async () => {
    const clock = { t: 1_000 }
    const store = memoryStore({ now: () => clock.t })
    const key = store.key('u', 'c')
    expect(await store.run(bump, [key], 2)).toBe(2)
    expect(await store.run(bump, [key], 3)).toBe(5)
    clock.t += 400
    expect(await store.run(ttlOf, [key], null)).toBe(600)
    clock.t += 600
    expect(await store.run(ttlOf, [key], null)).toBe(-2)
    expect(await store.run(bump, [key], 1)).toBe(1) // expired: starts again
  })

  it('prefers native when an op has both bodies', async () => {
    const both = defineOp<null, string>({
      name: 'both',
      lua: "return 'lua'",
      js: () => 'js',
      native: () => 'native',
      encode: () => [],
      decode: (reply) => String(reply),
    })
    expect(await memoryStore().run(both, [memoryStore().key('a')], null)).toBe('native')
  })

  it('a js op reading a native value fails with WRONGTYPE, as Redis would', async () => {
    const store = memoryStore()
    const key = store.key('u', 'c')
    await store.run(bump, [key], 1)
    const getOp = defineOp({
      name: 'get',
      lua: "return redis.call('GET', KEYS[1])",
      js: (data, keys) => data.get(keys[0] as string),
      encode: () => [],
      decode: (reply) => reply,
    })
    await expect(store.run(getOp, [key], undefined)).rejects.toThrow(/WRONGTYPE/)
    await expect(store.get(key)).rejects.toThrow(/WRONGTYPE/)
  })

  it('a throw in the native body rejects; keys must share a hash tag', async () => {
    const boom = defineOp<null, never>({
      name: 'boom',
      lua: 'return 1',
      native: () => {
        throw new Error('boom')
      },
      encode: () => [],
      decode: () => {
        throw new Error('unused')
      },
    })
    const store = memoryStore()
    await expect(store.run(boom, [store.key('a')], null)).rejects.toThrow('boom')
    await expect(store.run(bump, [store.key('a'), store.key('b')], 1)).rejects.toBeInstanceOf(
      InvalidOptionsError
    )
  })

  it('the memory bound counts native entries like any other', async () => {
    const store = memoryStore({ maxKeys: 2 })
    for (const tag of ['a', 'b', 'c']) await store.run(bump, [store.key(tag)], 1)
    expect(store.stats()).toEqual({ keys: 2, evictions: 1 })
  })

  it('defineOp wants a js or a native body, and functions only', () => {
    const base = { name: 'x', lua: 'return 1', encode: () => [], decode: () => 1 }
    expect(() => defineOp(base as never)).toThrow(expect.objectContaining({ field: 'js' }))
    expect(() => defineOp({ ...base, native: 'no' } as never)).toThrow(
      expect.objectContaining({ field: 'native' })
    )
  })
})
