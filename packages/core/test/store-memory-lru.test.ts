import {
  defineOp,
  InvalidOptionsError,
  memoryStore,
  type NativeData,
  StoreUnavailableError,
} from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { assertSameSlot, hashSlotSource } from '../src/store/keys.js'
import { type Entry, MemoryDb, NONE } from '../src/store/memory-db.js'

const str = (value: string, expiresAt?: number): Entry => ({ type: 'string', value, expiresAt })

describe('MemoryDb (the memory store LRU)', () => {
  it('evicts in least-recently-used order: read and write make a key recent, peek does not', () => {
    const db = new MemoryDb(3, () => 0)
    db.write('a', str('1'))
    db.write('b', str('2'))
    db.write('c', str('3'))
    expect(db.read('a', 0)).toMatchObject({ value: '1' }) // order, oldest first: b c a
    db.write('b', str('2b')) // c a b
    expect(db.peek('c', 0)).toMatchObject({ value: '3' }) // peek: still c a b
    db.write('d', str('4')) // evicts c
    expect(db.peek('c', 0)).toBeUndefined()
    db.write('e', str('5')) // evicts a
    expect(db.peek('a', 0)).toBeUndefined()
    db.put('f', 'native', { n: 1 }, undefined) // evicts b
    expect(db.peek('b', 0)).toBeUndefined()
    expect(['d', 'e', 'f'].map((k) => db.peek(k, 0)?.value)).toEqual(['4', '5', { n: 1 }])
    expect(db.stats()).toEqual({ keys: 3, evictions: 3 })
  })

  it('never holds more than maxKeys and counts only live entries pushed out as evictions', () => {
    let t = 100
    const db = new MemoryDb(10, () => t)
    for (let i = 0; i < 5; i++) db.write(`short-${i}`, str('x', 150))
    for (let i = 0; i < 5; i++) db.write(`long-${i}`, str('x', 1_000))
    t = 150 // the short-* entries are dead now, but still held until touched or evicted
    expect(db.stats()).toEqual({ keys: 10, evictions: 0 })
    for (let i = 0; i < 7; i++) {
      db.write(`new-${i}`, str('y'))
      expect(db.stats().keys).toBe(10)
    }
    // 5 dead short-* went first (not counted), then 2 live long-* (counted).
    expect(db.stats()).toEqual({ keys: 10, evictions: 2 })
    expect(db.peek('long-1', t)).toBeUndefined()
    expect(db.peek('long-2', t)).toMatchObject({ value: 'x' })
  })

  it('expires lazily: an expired entry reads missing and is removed on that read only', () => {
    const db = new MemoryDb(5, () => 0)
    db.write('k', str('v', 1_000))
    db.write('other', str('w', 1_000))
    expect(db.read('k', 999)).toMatchObject({ value: 'v' })
    expect(db.peek('k', 1_000)).toBeUndefined()
    expect(db.stats().keys).toBe(2) // peek removes nothing
    expect(db.read('k', 1_000)).toBeUndefined()
    expect(db.stats().keys).toBe(1) // the read removed it; `other` waits for its own access
    expect(db.remove('other', 1_000)).toBe(false) // held but dead: not a live removal
    expect(db.stats()).toEqual({ keys: 0, evictions: 0 })
  })

  it('an updated entry keeps one slot and the latest value, type and expiry', () => {
    const db = new MemoryDb(2, () => 0)
    db.put('k', 'native', { a: 1 }, 50)
    db.write('k', str('s'))
    db.write('j', { type: 'hash', value: new Map([['f', '1']]), expiresAt: undefined })
    expect(db.read('k', 100)).toMatchObject({ type: 'string', value: 's', expiresAt: undefined })
    expect(db.stats()).toEqual({ keys: 2, evictions: 0 })
    expect(db.remove('k', 100)).toBe(true)
    expect(db.remove('k', 100)).toBe(false)
    db.write('x', str('1'))
    db.write('y', str('2')) // evicts j (the only other key, least recent)
    expect(db.peek('j', 0)).toBeUndefined()
    expect(db.stats()).toEqual({ keys: 2, evictions: 1 })
  })

  it('grows to a large bound, reuses removed slots and keeps the order across both', () => {
    const db = new MemoryDb(2_500, () => 0)
    for (let i = 0; i < 3_000; i++) db.write(`k${i}`, str(String(i)))
    expect(db.stats()).toEqual({ keys: 2_500, evictions: 500 })
    expect(db.peek('k499', 0)).toBeUndefined()
    expect(db.peek('k500', 0)).toMatchObject({ value: '500' })
    for (let i = 1_000; i < 1_100; i++) expect(db.remove(`k${i}`, 0)).toBe(true)
    for (let i = 0; i < 100; i++) db.write(`n${i}`, str('n'))
    expect(db.stats()).toEqual({ keys: 2_500, evictions: 500 }) // freed slots were reused
    expect(db.read('k500', 0)).toMatchObject({ value: '500' }) // k501 is now the oldest
    db.write('x', str('x'))
    expect(db.peek('k501', 0)).toBeUndefined()
    expect(db.peek('k500', 0)).toMatchObject({ value: '500' })
    expect(db.stats()).toEqual({ keys: 2_500, evictions: 501 })
  })

  it('stays a consistent list under a long random workload (size, order and contents)', () => {
    // A reference LRU on Map insertion order, compared after every step.
    const max = 7
    const db = new MemoryDb(max, () => 0)
    const ref = new Map<string, string>()
    let evictions = 0
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    for (let step = 0; step < 5_000; step++) {
      const key = `k${rand(12)}`
      const action = rand(4)
      if (action === 0) {
        const value = String(step)
        db.write(key, str(value))
        if (ref.has(key)) ref.delete(key)
        else if (ref.size >= max) {
          ref.delete(ref.keys().next().value as string)
          evictions++
        }
        ref.set(key, value)
      } else if (action === 1) {
        const got = db.read(key, 0)?.value
        expect(got).toBe(ref.get(key))
        if (ref.has(key)) {
          const v = ref.get(key) as string
          ref.delete(key)
          ref.set(key, v)
        }
      } else if (action === 2) {
        expect(db.remove(key, 0)).toBe(ref.delete(key))
      } else {
        expect(db.peek(key, 0)?.value).toBe(ref.get(key))
      }
      expect(db.stats()).toEqual({ keys: ref.size, evictions })
    }
    db.clear()
    expect(db.stats()).toEqual({ keys: 0, evictions })
    expect(db.read('k1', 0)).toBeUndefined()
  })

  it('a tagged key and a full key spelled like its tag are two keys', () => {
    // Slots keep a tagged key's tag where a plain key keeps its full key: the write-after-read
    // shortcut must not take one for the other.
    const db = new MemoryDb(4, () => 0)
    db.putTagged('k', 'part', 'native', { n: 1 }, undefined)
    db.put('k', 'native', { n: 2 }, undefined) // the head is the tagged slot holding 'k'
    expect(db.stats()).toEqual({ keys: 2, evictions: 0 })
    expect(db.readTagged('k', 'part', 0)?.value).toEqual({ n: 1 })
    expect(db.read('k', 0)?.value).toEqual({ n: 2 })
    expect(db.removeTagged('k', 'part', 0)).toBe(true)
    expect(db.read('k', 0)?.value).toEqual({ n: 2 })
  })

  it('reads give copies: an entry changes only through put and write', () => {
    const db = new MemoryDb(2, () => 0)
    db.write('k', str('v', 100))
    const entry = db.read('k', 0) as Entry
    entry.expiresAt = 5
    entry.value = 'changed'
    expect(db.peek('k', 50)).toEqual({ type: 'string', value: 'v', expiresAt: 100 })
    db.write('k', { ...entry })
    expect(db.peek('k', 4)).toEqual({ type: 'string', value: 'changed', expiresAt: 5 })
    expect(db.peek('k', 5)).toBeUndefined()
  })

  it('a reused slot (after removal, eviction or clear) keeps nothing of its old entry', () => {
    const db = new MemoryDb(2, () => 0)
    db.putTagged('a', 'p', 'native', 1, 10)
    db.write('b', { type: 'hash', value: new Map([['f', '1']]), expiresAt: 20 })
    db.write('c', str('c')) // evicts the tagged a, reusing its slot for a plain key
    expect(db.readTagged('a', 'p', 0)).toBeUndefined()
    expect(db.read('c', 1_000)).toEqual({ type: 'string', value: 'c', expiresAt: undefined })
    expect(db.remove('b', 0)).toBe(true)
    db.putTagged('d', 'p', 'native', 2, undefined) // b's slot, now tagged and without expiry
    expect(db.readTagged('d', 'p', 1_000)).toEqual({
      type: 'native',
      value: 2,
      expiresAt: undefined,
    })
    expect(db.stats()).toEqual({ keys: 2, evictions: 1 })
    db.clear()
    db.write('e', str('e'))
    db.putTagged('f', 'p', 'string', 'f', undefined)
    expect(db.read('e', 1_000)).toEqual({ type: 'string', value: 'e', expiresAt: undefined })
    expect(db.readTagged('f', 'p', 1_000)).toEqual({
      type: 'string',
      value: 'f',
      expiresAt: undefined,
    })
    expect(db.stats()).toEqual({ keys: 2, evictions: 1 })
  })

  it('finds a slot by key or by (tag, part) and reads its type, value and expiry in place', () => {
    const db = new MemoryDb(3, () => 0, {
      keyOf: (tag, part) => `${tag}/${part}`,
      parse: (key) => {
        const [tag, part] = key.split('/')
        return tag && part ? { tag, part } : undefined
      },
    })
    db.putTagged('u', 'p', 'native', { n: 1 }, 50)
    db.put('plain', 'string', 's', undefined)
    const tagged = db.slotTagged('u', 'p', 0)
    expect(tagged).not.toBe(NONE)
    expect([db.typeAt(tagged), db.isNative(tagged), db.valueAt(tagged)]).toEqual([
      'native',
      true,
      { n: 1 },
    ])
    expect(db.expiresAt(tagged)).toBe(50)
    expect(db.lookup('u/p', 0)).toBe(tagged) // the same key, reached by its full string
    const plain = db.lookup('plain', 0)
    expect([db.typeAt(plain), db.isNative(plain), db.expiresAt(plain)]).toEqual([
      'string',
      false,
      undefined,
    ])
    expect(db.lookup('u/p', 50)).toBe(NONE) // expired: removed on this lookup
    expect(db.slotTagged('u', 'p', 0)).toBe(NONE)
    expect(db.lookup('missing', 0)).toBe(NONE)
    expect(db.stats()).toEqual({ keys: 1, evictions: 0 })
  })
})

describe('memoryStore run.sync', () => {
  it('returns what run resolves to, and throws what run rejects with', async () => {
    const store = memoryStore()
    const key = store.key('t', 'n')
    const op = defineOp<undefined, number>({
      name: 'count',
      lua: 'return 1',
      encode: () => [],
      decode: (r: unknown) => r as number,
      native: (data: NativeData, keys: readonly string[]) => {
        const n = ((data.get(keys[0] as string) as number | undefined) ?? 0) + 1
        data.set(keys[0] as string, n)
        return n
      },
    })
    expect(store.run.sync(op, [key], undefined)).toBe(1)
    expect(await store.run(op, [key], undefined)).toBe(2)
    expect(store.run.sync(op, [key], undefined)).toBe(3)
    expect(() => store.run.sync(op, [key, store.key('other')], undefined)).toThrow(
      InvalidOptionsError
    )
    await store.close()
    expect(() => store.run.sync(op, [key], undefined)).toThrow(StoreUnavailableError)
    await expect(store.run(op, [key], undefined)).rejects.toBeInstanceOf(StoreUnavailableError)
  })

  it('is dropped by a wrapper that replaces run', () => {
    const store = memoryStore()
    const wrapped = { ...store, run: (...args: Parameters<typeof store.run>) => store.run(...args) }
    expect('sync' in wrapped.run).toBe(false)
    expect(typeof { ...store }.run.sync).toBe('function')
  })
})

describe('assertSameSlot', () => {
  const slotError = (keys: unknown[]): string | undefined => {
    try {
      assertSameSlot(keys as string[])
      return undefined
    } catch (error) {
      return error instanceof InvalidOptionsError ? error.field : String(error)
    }
  }

  it('accepts keys sharing their hash tag (or equal whole keys when untagged)', () => {
    expect(slotError(['p:{u1}:a', 'p:{u1}:b', 'q:{u1}'])).toBeUndefined()
    expect(slotError(['{u1}', 'x{u1}y'])).toBeUndefined()
    expect(slotError(['{u1}', 'u1'])).toBeUndefined() // as on Redis: both hash `u1`
    expect(slotError(['plain', 'plain'])).toBeUndefined()
    expect(slotError(['a{}b', 'a{}b'])).toBeUndefined() // empty tag: the whole key is hashed
    expect(slotError(['only-one-key'])).toBeUndefined()
    expect(slotError([])).toBeUndefined()
  })

  it('rejects keys in different slots, naming keys', () => {
    expect(slotError(['p:{u1}:a', 'p:{u2}:a'])).toBe('keys')
    expect(slotError(['p:{u1}:a', 'p:{u12}:a'])).toBe('keys')
    expect(slotError(['p:{u12}:a', 'p:{u1}:a'])).toBe('keys')
    expect(slotError(['{u1}x', 'u1x'])).toBe('keys') // an untagged key hashes whole
    expect(slotError(['a{}b', 'a{}c'])).toBe('keys')
    expect(slotError(['p:{u1}:a', 'p:{u1}:b', 'p:{v1}:c'])).toBe('keys')
  })

  it('names the first bad key, in order', () => {
    expect(slotError(['p:{u1}', ''])).toBe('keys[1]')
    expect(slotError([5])).toBe('keys[0]')
    expect(slotError(['p:{u1}', 'p:{u2}', 7])).toBe('keys')
    expect(slotError('p:{u1}' as never)).toBe('keys')
  })

  it('agrees with hashSlotSource on random keys made of tag characters', () => {
    let seed = 7
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    const chars = ['{', '}', 'a', 'b']
    const randomKey = (): string =>
      Array.from({ length: 1 + rand(6) }, () => chars[rand(chars.length)]).join('')
    let same = 0
    for (let i = 0; i < 3_000; i++) {
      const keys = Array.from({ length: 2 + rand(2) }, randomKey)
      const expected = keys.every((k) => hashSlotSource(k) === hashSlotSource(keys[0] as string))
      if (expected) same++
      expect(slotError(keys)).toBe(expected ? undefined : 'keys')
    }
    expect(same).toBeGreaterThan(100) // both outcomes were exercised
  })
})
