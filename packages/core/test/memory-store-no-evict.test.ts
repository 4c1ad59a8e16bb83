/**
 * `memoryStore({ evict: false })`: a full store never drops a live key; expired keys make room;
 * a call that would add keys without room fails with StoreUnavailableError (reason 'full') and
 * changes nothing.
 */
import { defineOp, InvalidOptionsError, memoryStore, StoreUnavailableError } from '@aikit/core'
import { describe, expect, it } from 'vitest'

/** INCR of every key, all or nothing. */
const incrAll = defineOp<number, number>({
  name: 'test.incrAll',
  lua: `for i, k in ipairs(KEYS) do redis.call('INCRBY', k, ARGV[1]) end
return #KEYS`,
  js: (data, keys, argv) => {
    for (const k of keys) data.set(k, String(Number(data.get(k) ?? 0) + Number(argv[0])))
    return keys.length
  },
  encode: (n) => [String(n)],
  decode: (reply) => reply as number,
})

const full = (error: unknown) => error instanceof StoreUnavailableError && error.reason === 'full'

describe('memoryStore({ evict: false })', () => {
  it('refuses new keys when full of live ones, keeps every key, still serves the keys it holds', async () => {
    const store = memoryStore({ maxKeys: 3, evict: false })
    for (const k of ['a', 'b', 'c']) await store.set(k, k)
    const refused = await store.set('d', 'd').catch((e: unknown) => e)
    expect(full(refused)).toBe(true)
    expect(await store.get('d')).toBeUndefined()
    for (const k of ['a', 'b', 'c']) expect(await store.get(k)).toBe(k)
    await store.set('a', 'a2')
    expect(await store.get('a')).toBe('a2')
    expect(store.stats()).toEqual({ keys: 3, evictions: 0 })
  })

  it('an op on keys it lacks room for changes nothing, not even the keys it holds', async () => {
    const store = memoryStore({ maxKeys: 3, evict: false })
    const [a, b, x] = [store.key('t', 'a'), store.key('t', 'b'), store.key('t', 'x')]
    await store.run(incrAll, [a, b], 1)
    await store.set('other', '1')
    const refused = await store.run(incrAll, [a, b, x], 5).catch((e: unknown) => e)
    expect(full(refused)).toBe(true)
    expect(await store.get(a)).toBe('1')
    expect(await store.get(b)).toBe('1')
    expect(await store.get(x)).toBeUndefined()
    // Keys it holds: no new room needed.
    expect(await store.run(incrAll, [a, b], 1)).toBe(2)
    expect(() => store.run.syncTagged(incrAll, 't', ['y'], 1)).toThrow(StoreUnavailableError)
  })

  it("an op's newKeys decides the room it needs: keys it only reads need none", async () => {
    // Copies KEYS[2] (read only, may be absent) into KEYS[1].
    const copy = (newKeys?: (keys: readonly string[]) => number) =>
      defineOp<void, number>({
        name: 'test.copy',
        lua: `redis.call('SET', KEYS[1], redis.call('GET', KEYS[2]) or 'none') return 1`,
        js: (data, keys) => {
          data.set(keys[0] as string, data.get(keys[1] as string) ?? 'none')
          return 1
        },
        encode: () => [],
        decode: (reply) => reply as number,
        ...(newKeys === undefined ? {} : { newKeys }),
      })
    const store = memoryStore({ maxKeys: 2, evict: false })
    const [a, b, c, absent] = ['a', 'b', 'c', 'absent'].map((k) => store.key('t', k)) as [
      string,
      string,
      string,
      string,
    ]
    await store.set(a, '1')
    await store.set(b, '2')
    const run = (op: ReturnType<typeof copy>, keys: string[]) =>
      store.run(op, keys, undefined).catch((e: unknown) => e)
    // Default: the absent source counts as a new key.
    expect(full(await run(copy(), [a, absent]))).toBe(true)
    expect(
      await run(
        copy(() => 0),
        [a, absent]
      )
    ).toBe(1)
    expect(await store.get(a)).toBe('none')
    // A count it has no room for is refused before any change; a faulty one counts every key.
    expect(
      full(
        await run(
          copy(() => 1),
          [b, a]
        )
      )
    ).toBe(true)
    expect(
      full(
        await run(
          copy(() => Number.NaN),
          [a, c]
        )
      )
    ).toBe(true)
    expect(await store.get(b)).toBe('2')
    expect(await store.get(a)).toBe('none')
    expect(() => defineOp({ ...copy(), newKeys: 3 as never })).toThrow(InvalidOptionsError)
  })

  it('counts an expired key an op writes again as new: making room never evicts a live key', async () => {
    // The expired key kept its slot and was counted as held (no new key); making room for the
    // other key dropped it, and the op's write of it then evicted the live key `b`.
    let now = 1_000_000
    const store = memoryStore({ maxKeys: 3, evict: false, now: () => now })
    const [a, b, c, x] = ['a', 'b', 'c', 'x'].map((k) => store.key('t', k)) as [
      string,
      string,
      string,
      string,
    ]
    await store.set(a, '1', { ttlMs: 10 })
    await store.set(b, '2')
    await store.set(c, '3')
    now += 11
    expect(full(await store.run(incrAll, [a, x], 1).catch((e: unknown) => e))).toBe(true)
    expect(store.stats().evictions).toBe(0)
    expect(await store.get(b)).toBe('2')
    expect(await store.get(c)).toBe('3')
    // One new key fits where the expired one was.
    expect(await store.run(incrAll, [a], 1)).toBe(1)
    expect(store.stats()).toEqual({ keys: 3, evictions: 0 })
  })

  it('makes room from expired keys, least recently used or not', async () => {
    let now = 1_000_000
    const store = memoryStore({ maxKeys: 3, evict: false, now: () => now })
    await store.set('live-old', '1')
    await store.set('short', '2', { ttlMs: 10 })
    await store.set('live-new', '3')
    now += 11
    // The least recently used key is live: the expired one in the middle makes room.
    await store.set('d', '4')
    expect(await store.get('live-old')).toBe('1')
    expect(await store.get('live-new')).toBe('3')
    expect(await store.get('d')).toBe('4')
    expect(store.stats().evictions).toBe(0)
  })

  it('an evicting store (the default) drops its least recently used key instead', async () => {
    const store = memoryStore({ maxKeys: 3 })
    for (const k of ['a', 'b', 'c', 'd']) await store.set(k, k)
    expect(await store.get('a')).toBeUndefined()
    expect(store.stats().evictions).toBe(1)
  })

  it('refuses a non-boolean evict', () => {
    expect(() => memoryStore({ evict: 'no' as never })).toThrow(InvalidOptionsError)
  })
})
