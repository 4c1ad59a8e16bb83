/**
 * The memory store's limit states hold small integers unboxed (`compact`): integer results of
 * float arithmetic are stored as int32 when they fit, every other number as it is, so the state
 * (and every result read from it) keeps its value. What this saves is shown by
 * bench/ratelimit/run.mjs on Node 24 (GCRA over 100k keys); here, that nothing changes value.
 */
import { describe, expect, it } from 'vitest'
import { compact } from '../src/algorithms.js'

describe('compact', () => {
  it('gives an integer-valued double as the same integer', () => {
    const zero = 0.5 - 0.5
    expect(compact(zero)).toBe(0)
    expect(compact(60_000 - 60 * 1000)).toBe(0)
    expect(compact(2 ** 31 - 1)).toBe(2 ** 31 - 1)
    expect(compact(-(2 ** 31))).toBe(-(2 ** 31))
  })

  it('gives -0 as 0 (no state field is -0 in the Lua script)', () => {
    expect(Object.is(compact(-0), 0)).toBe(true)
  })

  it('keeps every number an int32 cannot hold, exactly', () => {
    for (const x of [2 ** 31, -(2 ** 31) - 1, 1_795_974_727_282, 2 ** 53 - 1, 1.5, -0.25, 1e300]) {
      expect(compact(x)).toBe(x)
    }
    expect(compact(Number.NaN)).toBeNaN()
    expect(compact(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY)
  })
})
