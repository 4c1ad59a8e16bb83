/**
 * A price entry's `priority` / `flex`, when present, must be a rates object: a falsy non-object
 * (`null`, `false`, `0`, `''`) throws `InvalidOptionsError` naming the field, instead of silently
 * meaning "no tier rates" (priority calls would then be billed at the standard rates, about half
 * their price). Leaving the field out still means the standard rates.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createPriceTable } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

describe('a non-object priority / flex tier in a price entry', () => {
  it.each([
    ['priority', null],
    ['priority', false],
    ['flex', 0],
    ['flex', ''],
  ])('%s: %j is refused with InvalidOptionsError naming the field', (tier, value) => {
    let error: unknown
    try {
      createPriceTable({ overrides: { m: { input: 1, output: 2, [tier]: value } as never } })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe(`overrides["m"].${tier}`)
  })

  it('a fallback entry with priority: null is refused too', () => {
    expect(() =>
      createPriceTable({ fallback: { input: 1, output: 2, priority: null } as never })
    ).toThrow(InvalidOptionsError)
  })

  it('left out, the tier bills the standard rates', () => {
    const table = createPriceTable({ overrides: { m: { input: 1, output: 2 } } })
    expect(
      table.priceOf('m', { inputTokens: 1_000, outputTokens: 0, serviceTier: 'priority' })
    ).toBe(1_000)
  })
})
