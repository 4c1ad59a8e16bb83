/**
 * A calendar period is picked on the budget's clock (`now`: the period is part of the key) and its
 * ledger lives until the period ends plus `retainPeriods` periods on that same clock, however far
 * the store's clock (Redis `TIME`, memoryStore's `now`) is from it. A store clock running ahead used
 * to expire the ledger early (its expiry, a budget-clock time, was turned into a TTL with the store's
 * clock): with `retainPeriods: 0` the day's spend vanished for the skew's duration before midnight
 * and the whole daily limit could be spent again; a retained period stopped being readable early.
 * The Lua and JS bodies' ledger lifetimes are compared with skewed clocks in lua-js-diff.test.ts.
 */
import { memoryStore } from '@aikit/core'
import { BudgetExceededError, createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const MIDNIGHT = Date.UTC(2026, 10, 27)
const MINUTE = 60_000
const DAY = 86_400_000

/** A budget on clock `t` over a memory store whose clock runs `skew` ms ahead of it. */
function setup(skew: number, retainPeriods: number) {
  const clock = { t: MIDNIGHT - 10 * MINUTE } // 23:50 UTC on the budget's clock
  const budget = createBudget({
    store: memoryStore({ now: () => clock.t + skew }),
    limits: [{ period: 'day', micros: 100 }],
    retainPeriods,
    now: () => clock.t,
  })
  return { clock, budget }
}

describe('a store clock ahead of the budget clock', () => {
  it.each([
    ['a minute', MINUTE],
    ['two days (more than any margin or extra period would cover)', 2 * DAY],
  ])(
    'retainPeriods 0, %s ahead: a spent day stays spent until it ends on the budget clock',
    async (_, skew) => {
      const { clock, budget } = setup(skew, 0)
      await (await budget.reserve('u', { estimateMicros: 100 })).settle(100)
      clock.t = MIDNIGHT - 30_000 // 23:59:30 on the budget clock: still the same day
      expect((await budget.status('u')).tightest?.spentMicros).toBe(100)
      await expect(budget.reserve('u', { estimateMicros: 100 })).rejects.toBeInstanceOf(
        BudgetExceededError
      )
      clock.t = MIDNIGHT // a new day: a new limit
      expect((await budget.status('u')).tightest?.spentMicros).toBe(0)
      await (await budget.reserve('u', { estimateMicros: 100 })).settle(100)
    }
  )

  it('retainPeriods 1: the day before stays readable by spend() until the next day ends', async () => {
    const { clock, budget } = setup(MINUTE, 1)
    await (await budget.reserve('u', { estimateMicros: 100 })).settle(60)
    const yesterday = MIDNIGHT - MINUTE
    clock.t = MIDNIGHT + DAY - 30_000 // 23:59:30 the next day
    expect(await budget.spend('u', { at: yesterday })).toMatchObject({
      periodId: 'd2026-11-26',
      totalMicros: 60,
    })
    clock.t = MIDNIGHT + DAY // the retained period has passed: forgotten
    expect((await budget.spend('u', { at: yesterday })).totalMicros).toBe(0)
  })
})

describe('a store clock behind the budget clock', () => {
  it('retainPeriods 0: the day is forgotten when it ends on the budget clock, not later', async () => {
    const { clock, budget } = setup(-30 * MINUTE, 0)
    await (await budget.reserve('u', { estimateMicros: 100 })).settle(100)
    clock.t = MIDNIGHT - 1
    expect((await budget.spend('u', { at: MIDNIGHT - 1 })).totalMicros).toBe(100)
    clock.t = MIDNIGHT + MINUTE
    expect((await budget.spend('u', { at: MIDNIGHT - 1 })).totalMicros).toBe(0)
  })
})
