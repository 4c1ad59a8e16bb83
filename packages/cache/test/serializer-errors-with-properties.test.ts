/**
 * README, `serializer`: the default JSON serializer refuses an Error anywhere in the value, one
 * with own properties too (an HTTP error's `status`, a Node system error's `code`), which JSON
 * writes as a plain object of them: another instance would read back `{ status: 404 }`, not the
 * Error. It is cached in no tier. An Error with a `toJSON` (its own or its class's) writes itself
 * and is stored as it does. (Before, only an Error without own properties, written `{}`, was
 * refused.)
 */
import { CacheSerializeError, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'

const notFound = () => Object.assign(new Error('not found'), { status: 404 })

describe('the default JSON serializer and Errors with own properties', () => {
  it.each([
    ['an Error with an own property', () => notFound()],
    ['one nested in an object', () => ({ error: notFound() })],
    ['one in an array', () => ['ok', { results: [notFound()] }]],
    ['a TypeError with a code', () => Object.assign(new TypeError('bad'), { code: 'E_BAD' })],
    [
      'an Error subclass with own fields',
      () =>
        new (class HttpError extends Error {
          status = 500
        })('boom'),
    ],
  ])('refuses %s: cached in no tier', async (_name, make) => {
    const store = memoryStore()
    const a = createCache({ store })
    const b = createCache({ store })
    await expect(a.set('k', make())).rejects.toBeInstanceOf(CacheSerializeError)
    expect(await a.get('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
    // Without a store too: the serializer decides what can be cached.
    const local = createCache()
    await expect(local.set('k', make())).rejects.toBeInstanceOf(CacheSerializeError)
    await Promise.all([a.close(), b.close(), local.close()])
  })

  it('stores an Error with a toJSON as it writes itself', async () => {
    class ApiError extends Error {
      status = 404
      toJSON() {
        return { message: this.message, status: this.status }
      }
    }
    const own = Object.assign(new Error('gone'), {
      status: 410,
      toJSON: () => ({ gone: true }),
    })
    const store = memoryStore()
    const a = createCache({ store })
    const b = createCache({ store })
    await a.set('k', { api: new ApiError('missing'), own })
    expect(await b.get('k')).toEqual({
      api: { message: 'missing', status: 404 },
      own: { gone: true },
    })
    await Promise.all([a.close(), b.close()])
  })

  it('still stores plain values, with or without objects in them', async () => {
    const store = memoryStore()
    const a = createCache({ store })
    const b = createCache({ store })
    const values = ['text with { and null', 42, [1, 'two', null], { error: { status: 404 } }]
    for (const [i, value] of values.entries()) await a.set(`k${i}`, value)
    for (const [i, value] of values.entries()) expect(await b.get(`k${i}`)).toEqual(value)
    await Promise.all([a.close(), b.close()])
  })
})
