/**
 * An amount estimate's optional `model` must be a non-empty string, as in the token and message
 * estimates: `model: ''` is refused at reserve time with `InvalidOptionsError` naming `model`
 * (its reservation could not be restored from its own `toJSON()`, nor a usage settle priced).
 * Left out, the reservation has no model, as before.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

describe("an amount estimate's model", () => {
  it("'' is refused with InvalidOptionsError naming model, before anything is held", async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const error = await budget.reserve('u', { estimateMicros: 100, model: '' }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('model')
    expect((await budget.status('u')).tightest!.heldMicros).toBe(0)
  })

  it('a non-empty model round-trips through toJSON / restore; none is allowed', async () => {
    const budget = createBudget({ limits: [{ period: 'day', usd: 1 }] })
    const r = await budget.reserve('u', { estimateMicros: 100, model: 'gpt-4o' })
    expect(budget.restore(r.toJSON()).model).toBe('gpt-4o')
    const bare = await budget.reserve('u', { estimateMicros: 100 })
    expect(bare.amountMicros).toBe(100)
  })
})
