import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { createRateLimiter } from '../src/index.js'

describe('createRateLimiter with a sparse limits array', () => {
  it('refuses a hole as an entry that is not an object, naming it', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the input under test
    const build = () => createRateLimiter({ limits: [, { limit: 5, window: '1s' }] as never })
    expect(build).toThrow(InvalidOptionsError)
    expect(build).toThrow(expect.objectContaining({ field: 'limits[0]' }))
  })

  it('refuses an array made only of holes (it built a limiter with no limits)', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the input under test
    const build = () => createRateLimiter({ limits: [,] as never })
    expect(build).toThrow(expect.objectContaining({ field: 'limits[0]' }))
  })
})

describe('createRateLimiter with a long sparse limits array', () => {
  it('stops at the first hole: no entry past it is read (no copy of the whole length)', () => {
    const sparse = Object.assign([{ limit: 5, window: '1s' }], { length: 1_000_000 })
    let reads = 0
    const counted = new Proxy(sparse, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++
        return Reflect.get(target, key, receiver)
      },
    })
    expect(() => createRateLimiter({ limits: counted as never })).toThrow(
      expect.objectContaining({ field: 'limits[1]' })
    )
    expect(reads).toBeLessThanOrEqual(2)
  })
})
