/**
 * `reservation.retrySettle`: a settle the store could not take (an outage) is tried again in the
 * background until it lands, for as long as a retry cannot charge twice (a margin before the hold's
 * expiry plus `tombstoneTtl`, when the tombstone that makes a retry of a settle that did run charge
 * nothing expires). A settle given up (that window closed, or too many were waiting) emits
 * `'unsettled'`. A real memoryStore whose settle op fails on demand; an injected store clock.
 */
import { memoryStore, type Store, StoreUnavailableError } from '@aikit/core'
import { type BudgetEvents, createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const START = 1_800_000_000_000

/**
 * A budget on a memoryStore whose settles fail while `down` (`lostReply`: the settle runs, then
 * its reply is lost, as a timeout on a slow Redis).
 */
function setup(options: { tombstoneTtl?: number } = {}) {
  let now = START
  const inner = memoryStore({ now: () => now })
  const store = Object.create(inner) as Store
  const state = { down: true, lostReply: false, attempts: 0 }
  store.run = (op, keys, input) => {
    if (op.name !== 'budgetSettle') return inner.run(op, keys, input)
    state.attempts++
    if (state.lostReply) {
      state.lostReply = false
      return Promise.resolve(inner.run(op, keys, input)).then(() => {
        throw new StoreUnavailableError('reply lost', { reason: 'timeout' })
      })
    }
    if (state.down) return Promise.reject(new StoreUnavailableError('redis is down'))
    return inner.run(op, keys, input)
  }
  const budget = createBudget({
    store,
    now: () => now,
    limits: [{ period: 'day', usd: 1 }],
    reservationTtl: '1m',
    ...(options.tombstoneTtl === undefined ? {} : { tombstoneTtl: options.tombstoneTtl }),
  })
  const unsettled: BudgetEvents['unsettled'][] = []
  budget.on('unsettled', (info) => unsettled.push(info))
  let settled = 0
  budget.on('settled', () => settled++)
  return {
    budget,
    state,
    unsettled,
    settled: () => settled,
    pass: (ms: number) => {
      now += ms
    },
  }
}

async function until(predicate: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('reservation.retrySettle', () => {
  it('settles once the store is back, past the hold’s expiry: charged exactly once, even after a lost reply', async () => {
    const { budget, state, settled, pass } = setup()
    const r = await budget.reserve('u', { estimateMicros: 5000 })
    await expect(r.settle(1234)).rejects.toBeInstanceOf(StoreUnavailableError)
    r.retrySettle(1234)
    r.retrySettle(1234) // already pending: nothing more
    await until(() => state.attempts === 2) // the retry after 0.25 s fails too
    // The hold lapses meanwhile (the store's clock passes its expiry): the settle still charges.
    pass(120_000)
    // The next retry runs on the store, but its reply is lost; the one after it charges nothing more.
    state.down = false
    state.lostReply = true
    await until(() => state.attempts === 4)
    await until(async () => (await budget.spend('u')).totalMicros > 0)
    const spend = await budget.spend('u')
    expect(spend).toMatchObject({ totalMicros: 1234, heldMicros: 0 })
    expect(settled()).toBe(1)
  })

  it('gives up (and says so) once a retry could charge twice: past the hold’s expiry plus tombstoneTtl', async () => {
    const { budget, state, unsettled, pass } = setup({ tombstoneTtl: 60_000 })
    const r = await budget.reserve('v', { model: 'claude-haiku-4-5', estimateMicros: 5000 })
    await expect(r.settle({ inputTokens: 1000, outputTokens: 100 })).rejects.toThrow()
    r.retrySettle({ inputTokens: 1000, outputTokens: 100 }, { model: 'claude-haiku-4-5' })
    // Hold expiry (1 min) + tombstoneTtl (1 min): the tombstone of a settle that ran is gone.
    pass(120_000)
    await until(() => unsettled.length === 1)
    expect(unsettled[0]).toMatchObject({
      subject: 'v',
      reservationId: r.id,
      model: 'claude-haiku-4-5',
      reason: 'expired',
    })
    expect(unsettled[0]?.chargeMicros).toBeGreaterThan(0)
    const attempts = state.attempts
    state.down = false
    await new Promise((resolve) => setTimeout(resolve, 1500)) // no retry after giving up
    expect(state.attempts).toBe(attempts)
    expect((await budget.spend('v')).totalMicros).toBe(0)
  })

  it('keeps at most 10 000 settles waiting: the oldest is given up for a new one', async () => {
    const { budget, state, unsettled } = setup()
    const holds = []
    for (let i = 0; i < 10_001; i++)
      holds.push(await budget.reserve(`s${i}`, { estimateMicros: 1 }))
    for (const r of holds) r.retrySettle(1)
    expect(unsettled).toEqual([
      {
        subject: 's0',
        reservationId: holds[0]?.id,
        model: 'unknown',
        chargeMicros: 1,
        reason: 'overflow',
      },
    ])
    // The others land once the store is back.
    state.down = false
    await until(async () => (await budget.spend('s10000')).totalMicros === 1)
    expect((await budget.spend('s0')).totalMicros).toBe(0)
  })
})
