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
