import { InvalidOptionsError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { createBudget } from '../src/index.js'

describe('createBudget with a sparse limits array', () => {
  it('refuses a hole as an entry that is not an object, naming it', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the input under test
    const build = () => createBudget({ limits: [, { period: 'day', usd: 5 }] as never })
    expect(build).toThrow(InvalidOptionsError)
    expect(build).toThrow(expect.objectContaining({ field: 'limits[0]' }))
  })

  it('refuses an array made only of holes', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the input under test
    const build = () => createBudget({ limits: [,] as never })
    expect(build).toThrow(expect.objectContaining({ field: 'limits[0]' }))
  })
})
