/**
 * The default serializer refuses any Error without its own toJSON, since JSON
 * writes it as a plain object of its own properties (message and stack lost). An Error made in
 * another realm (node:vm, a test environment's context) is an Error all the same
 * (`util.types.isNativeError`), but `instanceof Error` misses it: it was stored as `{"code":"E"}`. Refused too.
 */
import vm from 'node:vm'
import { CacheSerializeError, createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { expect, it } from 'vitest'

it('refuses an Error from another realm (stored as a plain object of its properties)', async () => {
  const cache = createCache({ store: memoryStore() })
  const error = vm.runInNewContext('const e = new Error("not found"); e.code = "E_NF"; e')
  await expect(cache.set('k', { error })).rejects.toBeInstanceOf(CacheSerializeError)
  await cache.close()
})
