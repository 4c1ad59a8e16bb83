import {
  defineOp,
  InvalidOptionsError,
  luaArg,
  luaToString,
  memoryStore,
  StoreUnavailableError,
} from '@aikit/core'
import { afterEach, describe, expect, it, vi } from 'vitest'

const incr = defineOp({
  name: 'incr',
  lua: "return redis.call('INCRBY', KEYS[1], 1)",
  js: (data, keys) => data.incrby(keys[0]!, 1),
  encode: () => [],
  decode: (reply) => reply as number,
})

const pttl = defineOp({
  name: 'pttl',
  lua: "return redis.call('PTTL', KEYS[1])",
  js: (data, keys) => data.pttl(keys[0]!),
  encode: () => [],
  decode: (reply) => reply as number,
})

const setPx = defineOp({
  name: 'setPx',
  lua: "return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])",
  js: (data, keys, argv) => data.set(keys[0]!, argv[0]!, { px: Number(argv[1]) }) && { ok: 'OK' },
  encode: (i: { value: string; px: number }) => [i.value, String(i.px)],
  decode: (reply) => reply,
})

const fieldError = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (error) {
    return error instanceof InvalidOptionsError
      ? error.field
      : `not a InvalidOptionsError: ${error}`
  }
  return undefined
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('memoryStore bounds', () => {
  it('keeps at most maxKeys, evicts the least recently used and counts evictions', async () => {
    const store = memoryStore({ maxKeys: 3 })
    await store.set('a', '1')
    await store.set('b', '2')
    await store.set('c', '3')
    expect(await store.get('a')).toBe('1') // a is now most recently used
    await store.set('d', '4')
    await store.set('e', '5')
    expect(store.stats()).toEqual({ keys: 3, evictions: 2 })
    expect(await store.get('b')).toBeUndefined()
    expect(await store.get('c')).toBeUndefined()
    expect([await store.get('a'), await store.get('d'), await store.get('e')]).toEqual([
      '1',
      '4',
      '5',
    ])
  })

  it('does not count expired entries pushed out by the bound as evictions', async () => {
    let t = 1_000
    const store = memoryStore({ maxKeys: 2, now: () => t })
    await store.set('old1', 'x', { ttlMs: 10 })
    await store.set('old2', 'x', { ttlMs: 10 })
    t += 10
    await store.set('new1', 'y')
    await store.set('new2', 'y')
    await store.set('new3', 'y')
    expect(store.stats()).toEqual({ keys: 2, evictions: 1 })
  })

  it('ops count toward the bound too', async () => {
    const store = memoryStore({ maxKeys: 2 })
    for (const tag of ['a', 'b', 'c', 'd']) await store.run(incr, [store.key(tag)], undefined)
    expect(store.stats()).toEqual({ keys: 2, evictions: 2 })
  })
})

describe('memoryStore expiry', () => {
  it('expires lazily on access with the injected clock', async () => {
    let t = 5_000
    const store = memoryStore({ now: () => t })
    await store.set('k', 'v', { ttlMs: 1000 })
    const key = store.key('x')
    await store.run(setPx, [key], { value: 'v', px: 1000 })
    t += 999
    expect(await store.get('k')).toBe('v')
    expect(await store.run(pttl, [key], undefined)).toBe(1)
    t += 1
    expect(await store.get('k')).toBeUndefined()
    expect(await store.run(pttl, [key], undefined)).toBe(-2)
  })

  it('rounds fractional ttlMs up and rejects non-positive ones naming ttlMs', async () => {
    let t = 0
    const store = memoryStore({ now: () => t })
    await store.set('k', 'v', { ttlMs: 0.2 })
    expect(await store.get('k')).toBe('v')
    t = 1
    expect(await store.get('k')).toBeUndefined()
    await expect(store.set('k', 'v', { ttlMs: 0 })).rejects.toMatchObject({ field: 'ttlMs' })
    await expect(store.set('k', 'v', { ttlMs: Number.NaN })).rejects.toMatchObject({
      field: 'ttlMs',
    })
  })

  it('never starts a timer', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout')
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval')
    const store = memoryStore({ maxKeys: 50 })
    for (let i = 0; i < 100; i++) {
      await store.set(`k${i}`, 'v', { ttlMs: 10 + i })
      await store.run(setPx, [store.key(`t${i}`)], { value: 'v', px: 5 })
      await store.run(incr, [store.key(`c${i}`)], undefined)
    }
    expect(store.stats().evictions).toBeGreaterThan(0)
    expect(setTimeoutSpy).not.toHaveBeenCalled()
    expect(setIntervalSpy).not.toHaveBeenCalled()
  })
})

describe('memoryStore ops', () => {
  it('lets an op touch only its KEYS', async () => {
    const sneaky = defineOp({
      name: 'sneaky',
      lua: "return redis.call('GET', 'other')",
      js: (data) => data.get('aikit:{x}:other'),
      encode: () => [],
      decode: (reply) => reply,
    })
    const store = memoryStore()
    await expect(store.run(sneaky, [store.key('x', 'mine')], undefined)).rejects.toThrow(
      /not in KEYS/
    )
  })

  it('rejects keys of one op that do not share a hash tag (CROSSSLOT on Cluster)', async () => {
    const store = memoryStore()
    await expect(
      store.run(incr, [store.key('a'), store.key('b')], undefined)
    ).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field: 'keys',
    })
    // Same tag, different parts: fine.
    expect(await store.run(incr, [store.key('a', 'x'), store.key('a', 'y')], undefined)).toBe(1)
  })

  it('rejects non-integer values for INCRBY and a non-string ARGV', async () => {
    const store = memoryStore()
    const k = store.key('n')
    await store.set(k, '1.5')
    await expect(store.run(incr, [k], undefined)).rejects.toThrow(/not an integer/)
    const badEncode = defineOp({
      name: 'badEncode',
      lua: 'return 1',
      js: () => 1,
      encode: (n: number) => [n as unknown as string],
      decode: (reply) => reply,
    })
    await expect(store.run(badEncode, [], 3)).rejects.toMatchObject({ field: 'argv[0]' })
  })

  it('turns { err } into a rejection and keeps writes made before it (like Redis)', async () => {
    const failing = defineOp({
      name: 'failing',
      lua: "redis.call('INCRBY', KEYS[1], 1) return redis.error_reply('nope')",
      js: (data, keys) => {
        data.incrby(keys[0]!, 1)
        return { err: 'nope' }
      },
      encode: () => [],
      decode: (reply) => reply,
    })
    const store = memoryStore()
    const k = store.key('e')
    await expect(store.run(failing, [k], undefined)).rejects.toThrow('nope')
    expect(await store.get(k)).toBe('1')
  })

  it('rejects after close()', async () => {
    const store = memoryStore()
    await store.set('k', 'v')
    await store.close()
    await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(store.run(incr, [store.key('k')], undefined)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      reason: 'closed',
    })
  })

  it('is local and of kind memory', () => {
    const store = memoryStore()
    expect([store.kind, store.local]).toEqual(['memory', true])
    const off = store.on('degraded', () => {})
    expect(typeof off).toBe('function')
    off()
  })
})

describe('keys', () => {
  it('formats prefix, hash tag and parts', () => {
    expect(memoryStore().key('user:42', 'rl', 'minute')).toBe('aikit:{user:42}:rl:minute')
    expect(memoryStore({ prefix: 'app' }).key('t')).toBe('app:{t}')
  })

  it('percent-escapes braces and % in tags so the slot cannot move and tags stay distinct', () => {
    const store = memoryStore()
    expect(store.key('a{b}c%')).toBe('aikit:{a%7Bb%7Dc%25}')
    expect(store.key('%7B')).not.toBe(store.key('{'))
  })

  it('escapes lone surrogates, which UTF-8 would turn into one U+FFFD for every tag', () => {
    const store = memoryStore()
    // Text cut at a length can end in half of an emoji: two different halves, two different keys.
    const high1 = 'I love 😀 cats'.slice(0, 8)
    const high2 = 'I love 🤖 bots'.slice(0, 8)
    expect(store.key(high1)).toBe('aikit:{I love %uD83D}')
    expect(store.key(high2)).toBe('aikit:{I love %uD83E}')
    expect(store.key('\uDE00x')).toBe('aikit:{%uDE00x}')
    // Whole pairs are left as they are, and an escape's own text stays distinct from it.
    expect(store.key('😀')).toBe('aikit:{😀}')
    expect(store.key('%uD83D')).toBe('aikit:{%25uD83D}')
    expect(Buffer.from(store.key(high1)).toString()).toBe(store.key(high1))
  })

  it('rejects an empty tag and a bad prefix naming the field', () => {
    expect(fieldError(() => memoryStore().key(''))).toBe('tag')
    expect(fieldError(() => memoryStore({ prefix: 'a{b' }))).toBe('prefix')
    expect(fieldError(() => memoryStore({ prefix: '' }))).toBe('prefix')
  })
})

describe('option validation', () => {
  it('names the field', () => {
    expect(fieldError(() => memoryStore({ maxKeys: 0 }))).toBe('maxKeys')
    expect(fieldError(() => memoryStore({ maxKeys: 1.5 }))).toBe('maxKeys')
    expect(fieldError(() => memoryStore({ now: 5 as never }))).toBe('now')
    // A misspelt option is refused, not ignored with its default kept.
    expect(fieldError(() => memoryStore({ maxkeys: 10 } as never))).toBe('maxkeys')
    const base = { name: 'x', lua: 'return 1', js: () => 1, encode: () => [], decode: () => 1 }
    expect(fieldError(() => defineOp({ ...base, name: '' }))).toBe('name')
    expect(fieldError(() => defineOp({ ...base, lua: ' ' }))).toBe('lua')
    expect(fieldError(() => defineOp({ ...base, js: undefined as never }))).toBe('js')
    expect(fieldError(() => defineOp({ ...base, decode: 'x' as never }))).toBe('decode')
    expect(fieldError(() => defineOp({ ...base, batchLua: '' }))).toBe('batchLua')
    expect(fieldError(() => defineOp({ ...base, batchLua: 5 as never }))).toBe('batchLua')
    expect(defineOp({ ...base, batchLua: 'return nil' }).batchLua).toBe('return nil')
  })
})

describe('Lua number formatting', () => {
  it('formats like %.17g (redis.call arguments) and %.14g (tostring)', () => {
    expect(luaArg(0.1)).toBe('0.10000000000000001')
    expect(luaArg(1e20)).toBe('1e+20')
    expect(luaArg(3)).toBe('3')
    expect(luaArg(-0.00001)).toBe('-1.0000000000000001e-05')
    expect(luaArg(0.0001)).toBe('0.0001')
    expect(luaToString(1 / 3)).toBe('0.33333333333333')
    expect(luaToString(2 ** 53)).toBe('9.007199254741e+15')
    expect(luaToString(1e15)).toBe('1e+15')
    expect(luaToString(Number.POSITIVE_INFINITY)).toBe('inf')
  })
})
