/**
 * On memoryStore, a subject's tombstones (what makes a second settle or release of a reservation a
 * duplicate) live inside that subject's holds value, not as one store key per settle: a busy
 * subject's settles can no longer fill the store's key bound and let its LRU evict the ledgers of
 * idle subjects (whose spend would then silently reset to 0). Duplicate detection and the
 * tombstone's lifetime (`tombstoneTtl` past the hold's expiry) are unchanged. Injected clock.
 */
import { defineOp, memoryStore } from '@aikit/core'
import { BudgetExceededError, createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

const START = 1_800_000_000_000

// How many tombstones a subject's holds value keeps (memoryStore's native value, see budget-native.ts).
const tombstonesKept = defineOp<null, number>({
  name: 'probeTombstones',
  lua: 'return 0',
  native: (data, keys) =>
    (data.get(keys[0] ?? '') as { done?: Map<string, unknown> } | undefined)?.done?.size ?? -1,
  encode: () => [],
  decode: (raw) => raw as number,
})

function setup(options: { maxKeys?: number; tombstoneTtl?: number | '1m' } = {}) {
  let now = START
  const store = memoryStore({
    now: () => now,
    ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }),
  })
  const make = () =>
    createBudget({
      store,
      now: () => now,
      limits: [{ period: 'day', usd: 1 }],
      reservationTtl: '5m',
      ...(options.tombstoneTtl === undefined ? {} : { tombstoneTtl: options.tombstoneTtl }),
    })
  return {
    store,
    budget: make(),
    make,
    pass: (ms: number) => {
      now += ms
    },
  }
}

describe('memoryStore budgets: tombstones are kept per subject', () => {
  it("a busy subject's settles do not evict an idle subject's ledger (no overspend)", async () => {
    const { budget } = setup({ maxKeys: 1000 })
    const r = await budget.reserve('alice', { estimateMicros: 900_000 })
    await r.settle(900_000)
    for (let i = 0; i < 1200; i++) {
      const x = await budget.reserve('bob', { estimateMicros: 1 })
      await x.settle(0)
    }
    expect((await budget.status('alice')).limits[0]?.spentMicros).toBe(900_000)
    await expect(budget.reserve('alice', { estimateMicros: 900_000 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
  })

  it("1,000 settles of one subject leave only that subject's few keys in the store", async () => {
    const { store, budget } = setup()
    for (let i = 0; i < 1000; i++) {
      const x = await budget.reserve('carol', { estimateMicros: 10 })
      await x.settle(5)
    }
    // The holds value and the day's ledger.
    expect(store.stats().keys).toBeLessThanOrEqual(3)
    expect((await budget.status('carol')).limits[0]?.spentMicros).toBe(5000)
  })

  it('a second settle of the same reservation is a duplicate and charges nothing', async () => {
    const { budget } = setup()
    const r = await budget.reserve('dan', { estimateMicros: 100 })
    const first = await r.settle(80)
    expect(first).toMatchObject({ chargedMicros: 80, duplicate: false, held: true })
    // A new object for the same id (the first one answers again with its own outcome).
    const again = await budget.restore(r.toJSON()).settle(80)
    expect(again).toMatchObject({ chargedMicros: 0, duplicate: true, previous: 'settled' })
    expect((await budget.status('dan')).limits[0]?.spentMicros).toBe(80)
  })

  it('settle after release is a duplicate (previous released); release after settle frees nothing', async () => {
    const { budget } = setup()
    const a = await budget.reserve('erin', { estimateMicros: 100 })
    expect(await a.release()).toBe(true)
    expect(await budget.restore(a.toJSON()).settle(50)).toMatchObject({
      chargedMicros: 0,
      duplicate: true,
      previous: 'released',
    })
    expect(await budget.restore(a.toJSON()).release()).toBe(false)
    const b = await budget.reserve('erin', { estimateMicros: 100 })
    await b.settle(40)
    expect(await budget.restore(b.toJSON()).release()).toBe(false)
    const status = await budget.status('erin')
    expect(status.limits[0]).toMatchObject({ spentMicros: 40, heldMicros: 0 })
  })

  it('a restored handle settled twice, by two budget objects, charges once', async () => {
    const { budget, make } = setup()
    const r = await budget.reserve('fay', { estimateMicros: 100 })
    const other = make()
    const first = await other.restore(r.toJSON()).settle(70)
    expect(first).toMatchObject({ chargedMicros: 70, duplicate: false })
    const second = await make().restore(r.toJSON()).settle(70)
    expect(second).toMatchObject({ chargedMicros: 0, duplicate: true, previous: 'settled' })
    expect(await r.settle(70)).toMatchObject({ chargedMicros: 0, duplicate: true })
    expect((await budget.status('fay')).limits[0]?.spentMicros).toBe(70)
  })

  it('a restored handle whose holds had all expired still settles once, then is a duplicate', async () => {
    const { budget, make, pass } = setup()
    const r = await budget.reserve('gus', { estimateMicros: 100 })
    // Past the hold and the holds value's own expiry: the subject has no holds value left.
    pass(3_600_000)
    const first = await make().restore(r.toJSON()).settle(30)
    expect(first).toMatchObject({ chargedMicros: 30, duplicate: false, held: false })
    const second = await make().restore(r.toJSON()).settle(30)
    expect(second).toMatchObject({ chargedMicros: 0, duplicate: true, previous: 'settled' })
    expect((await budget.status('gus')).limits[0]?.spentMicros).toBe(30)
  })

  it('a tombstone expires tombstoneTtl after the hold: a later settle of that id charges again', async () => {
    const { budget, pass } = setup({ tombstoneTtl: '1m' })
    const r = await budget.reserve('hal', { estimateMicros: 100 })
    const handle = r.toJSON()
    pass(10_000)
    await r.settle(20)
    // The hold would have expired at +300 s; the tombstone lasts 60 s more.
    pass(300_000 + 60_000 - 10_000 - 1)
    expect(await budget.restore(handle).settle(20)).toMatchObject({
      chargedMicros: 0,
      duplicate: true,
    })
    pass(1)
    expect(await budget.restore(handle).settle(20)).toMatchObject({
      chargedMicros: 20,
      duplicate: false,
      held: false,
    })
    expect((await budget.status('hal')).limits[0]?.spentMicros).toBe(40)
  })

  it('expired tombstones are dropped while the subject keeps settling (keys stay bounded)', async () => {
    const { store, budget, pass } = setup({ tombstoneTtl: 1 })
    // A long hold keeps the subject's holds value alive throughout.
    await budget.reserve('ivy', { estimateMicros: 10, ttl: '1h' })
    for (let i = 0; i < 300; i++) {
      pass(500)
      const x = await budget.reserve('ivy', { estimateMicros: 10, ttl: 1 })
      await x.settle(1)
    }
    expect(store.stats().keys).toBeLessThanOrEqual(3)
    // Each tombstone lives 2 ms past its settle; 500 ms pass between settles.
    expect(await store.run(tombstonesKept, [store.key('ivy', 'budget', 'res')], null)).toBe(1)
    expect((await budget.status('ivy')).limits[0]?.spentMicros).toBe(300)
  })

  it('concurrent reservations of one subject never overspend while settles accumulate', async () => {
    const { budget } = setup({ maxKeys: 50 })
    for (let i = 0; i < 200; i++) {
      const x = await budget.reserve('jo', { estimateMicros: 1 })
      await x.settle(1)
    }
    const tries = await Promise.allSettled(
      Array.from({ length: 20 }, () => budget.reserve('jo', { estimateMicros: 100_000 }))
    )
    // $1 - 200 µ$ leaves room for nine holds of $0.10.
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(9)
  })
})
