/**
 * README, `serializer`: the default refuses what JSON would write as something else, so no tier
 * and no instance ever holds a different value than another. Three kinds got through: a `Buffer`
 * (a typed array whose `toJSON` writes `{ type: 'Buffer', data }`: the writing instance kept the
 * Buffer, the others read a plain object), `NaN` / `Infinity` (written `null`) and an `Error` (written
 * `{}`). They are refused with `CacheSerializeError` like a typed array or a `Map`; a `null`, finite
 * numbers, a plain object shaped like a Buffer's JSON and a typed array with a `toJSON` of its own
 * (the app chose its JSON) are stored as before.
 */
import { Buffer } from 'node:buffer'
import { CacheSerializeError, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'

const twoInstances = () => {
  const store = memoryStore()
  return { a: createCache({ store }), b: createCache({ store }) }
}

describe('the default JSON serializer refuses', () => {
  it.each([
    ['a Buffer', () => Buffer.from([1, 2, 3])],
    ['a Buffer in a value', () => ({ name: 'avatar', bytes: Buffer.from([1, 2, 3]) })],
    ['an empty Buffer in a list', () => [{ bytes: Buffer.alloc(0) }]],
    ['NaN', () => Number.NaN],
    ['NaN in a value', () => ({ score: Number.NaN, note: 'x' })],
    ['Infinity in a list', () => ({ limits: [1, Number.POSITIVE_INFINITY] })],
    ['-Infinity', () => ({ floor: Number.NEGATIVE_INFINITY })],
    ['an Error', () => ({ ok: false, error: new Error('provider down') })],
  ])('%s: cached in no tier, on no instance', async (_name, make) => {
    const { a, b } = twoInstances()
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
})

describe('the default JSON serializer stores', () => {
  it('nulls and finite numbers, on every instance alike', async () => {
    const { a, b } = twoInstances()
    const value = { score: null, n: [0, -1.5, 1e300, Number.MAX_VALUE], list: [null] }
    await a.set('k', value)
    expect(await b.get('k')).toEqual(value)
  })

  // An Error with properties of its own is refused too: serializer-errors-with-properties.test.ts.
  it("a plain object shaped like a Buffer's JSON", async () => {
    const { a, b } = twoInstances()
    const value = { bytes: { type: 'Buffer', data: [1, 2] }, none: null }
    await a.set('k', value)
    expect(await b.get('k')).toEqual(value)
  })

  it('a typed array whose class writes its own JSON', async () => {
    class Hex extends Uint8Array {
      toJSON() {
        return Buffer.from(this).toString('hex')
      }
    }
    const { a, b } = twoInstances()
    await a.set('k', { id: new Hex([1, 255]), none: null })
    expect(await b.get('k')).toEqual({ id: '01ff', none: null })
  })
})
