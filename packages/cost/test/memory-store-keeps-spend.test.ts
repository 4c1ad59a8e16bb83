/**
 * A budget on a `memoryStore` bounded by `maxKeys`: with eviction (a plain `memoryStore()`, which
 * was `createBudget`'s default), enough other active subjects pushed an idle subject's spent ledger
 * out of the LRU and it could spend its whole limit again. With `evict: false` (the default
 * store's now) the ledger is never dropped: a new subject that finds no room is refused (fail
 * closed, `StoreUnavailableError` reason 'full'), and once expired keys free room it is served.
 */
import { memoryStore, StoreUnavailableError } from '@aikit/core'
import { BudgetExceededError, createBudget } from '@aikit/cost'
import { describe, expect, it } from 'vitest'

describe('a budget on a memoryStore with evict: false', () => {
  it('keeps a spent month budget spent however many other subjects come; refuses those it has no room for', async () => {
    const store = memoryStore({ maxKeys: 50, evict: false })
    const budget = createBudget({ store, limits: [{ period: 'month', usd: 1 }] })
    await (await budget.reserve('alice', { estimateMicros: 1_000_000 })).settle(1_000_000)
    await expect(budget.reserve('alice', { estimateMicros: 1_000_000 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    const outcomes: string[] = []
    for (let i = 0; i < 40; i++) {
      try {
        await (await budget.reserve(`user:${i}`, { estimateMicros: 1000 })).settle(1000)
        outcomes.push('ok')
      } catch (error) {
        expect(error).toBeInstanceOf(StoreUnavailableError)
        expect((error as StoreUnavailableError).reason).toBe('full')
        outcomes.push('full')
      }
    }
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(10)
    expect(outcomes.at(-1)).toBe('full')
    expect(store.stats().evictions).toBe(0)
    expect((await budget.status('alice')).limits[0]?.spentMicros).toBe(1_000_000)
    await expect(budget.reserve('alice', { estimateMicros: 1_000_000 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    // A subject the store holds is still served when it is full.
    await (await budget.reserve('user:0', { estimateMicros: 1000 })).settle(1000)
  })

  it('a full store still settles and releases for the subjects it holds (their spend is recorded)', async () => {
    // Settle and release pass the tombstone key, which the memory store's op bodies never create
    // (the tombstones live in the subject's holds value): counted as a new key, it refused every
    // settle on a full store, a held subject's too, and the call went uncharged.
    const store = memoryStore({ maxKeys: 20, evict: false })
    const budget = createBudget({
      store,
      limits: [
        { period: 'month', usd: 1 },
        { period: 'day', usd: 1 },
      ],
    })
    await (await budget.reserve('alice', { estimateMicros: 1000 })).settle(500)
    for (let i = 0; store.stats().keys < 20; i++) await store.set(store.key('other', `${i}`), '1')
    await expect(budget.reserve('bob', { estimateMicros: 1000 })).rejects.toBeInstanceOf(
      StoreUnavailableError
    )
    const held = await budget.reserve('alice', { estimateMicros: 1000 })
    await held.settle(400)
    await (await budget.reserve('alice', { estimateMicros: 10 })).release()
    expect((await budget.status('alice')).limits.map((l) => l.spentMicros)).toEqual([900, 900])
    expect(store.stats()).toEqual({ keys: 20, evictions: 0 })
  })

  it('a late settle of a lapsed hold on a full store evicts no other subject (their spend is kept)', async () => {
    // Alice's holds key has expired but still had its slot: the room check counted it as held (no
    // new key), then made room for her new ledger by dropping that very key, and the settle that
    // wrote it again evicted the least recently used live key, bob's ledger: his $9 forgotten.
    let t = Date.UTC(2026, 0, 10)
    const clock = () => t
    const store = memoryStore({ evict: false, maxKeys: 3, now: clock })
    const budget = createBudget({ store, limits: [{ period: 'month', usd: 10 }], now: clock })
    const alice = await budget.reserve('alice', { estimateMicros: 1_000_000, ttl: '1m' })
    await (await budget.reserve('bob', { estimateMicros: 9_000_000, ttl: '1h' })).settle(9_000_000)
    const bobHolds = await budget.reserve('bob', { estimateMicros: 500_000, ttl: '1h' })
    expect(store.stats()).toEqual({ keys: 3, evictions: 0 })
    t += 10 * 60_000
    // Alice's call outlived her hold. Her settle needs two new keys (her ledger, and her holds
    // value again for the tombstone) where one is free: refused, as any new key on a full store.
    const refused = await alice.settle(800_000).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(StoreUnavailableError)
    expect((refused as StoreUnavailableError).reason).toBe('full')
    expect(store.stats().evictions).toBe(0)
    expect((await budget.status('bob')).tightest?.spentMicros).toBe(9_000_000)
    await expect(budget.reserve('bob', { estimateMicros: 9_000_000 })).rejects.toBeInstanceOf(
      BudgetExceededError
    )
    await bobHolds.release()
  })

  it('status() of a subject with no live hold is served on a full store (it writes nothing)', async () => {
    let t = Date.UTC(2026, 0, 10)
    const clock = () => t
    const store = memoryStore({ evict: false, maxKeys: 4, now: clock })
    const budget = createBudget({
      store,
      limits: [{ period: 'month', usd: 10 }],
      now: clock,
      tombstoneTtl: '1m',
    })
    await (await budget.reserve('alice', { estimateMicros: 1_000_000, ttl: '1m' })).settle(500_000)
    // The hold and its tombstone lapse: alice keeps her month ledger only.
    t += 10 * 60_000
    await budget.status('alice')
    for (let i = 0; store.stats().keys < 4; i++) await store.set(store.key(`other${i}`, 'x'), '1')
    expect((await budget.status('alice')).tightest?.spentMicros).toBe(500_000)
  })

  it('a plain (evicting) memoryStore forgets the spend: why the default store does not evict', async () => {
    const store = memoryStore({ maxKeys: 50 })
    const budget = createBudget({ store, limits: [{ period: 'month', usd: 1 }] })
    await (await budget.reserve('alice', { estimateMicros: 1_000_000 })).settle(1_000_000)
    for (let i = 0; i < 40; i++) {
      await (await budget.reserve(`user:${i}`, { estimateMicros: 1000 })).settle(1000)
    }
    expect(store.stats().evictions).toBeGreaterThan(0)
    expect((await budget.status('alice')).limits[0]?.spentMicros).toBe(0)
  })
})
