/**
 * The cache's ops on a full `memoryStore({ evict: false })` (a store shared with a budget, whose
 * docs ask for one): each op needs room only for the keys it may add. They counted every key they
 * pass, so during the first fill of a key (a lock, no value yet) a full store refused to renew or
 * release the lock: it stayed until its TTL, other instances waiting on it.
 */
import { memoryStore, StoreUnavailableError } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { extendLockOp, fillOp, readOrLockOp, unlockOp } from '../src/ops.js'

/** A full store of 4 keys holding the lock of `k` (and, with `withValue`, its stale value). */
async function full(withValue: boolean) {
  const store = memoryStore({ maxKeys: 4, evict: false })
  const value = store.key('k', 'value')
  const lock = store.key('k', 'lock')
  if (withValue) await store.set(value, 'stale')
  expect(
    await store.run(readOrLockOp, [value, lock], { token: 't1', lockMs: 60_000, nowMs: 0 })
  ).toMatchObject({ kind: 'locked' })
  for (let i = 0; store.stats().keys < 4; i++) await store.set(`other:${i}`, '1')
  return { store, value, lock }
}

describe('cache ops on a full memoryStore({ evict: false })', () => {
  it('renews and releases a lock it holds (the first fill of a key: no value yet)', async () => {
    const { store, value, lock } = await full(false)
    expect(await store.run(extendLockOp, [value, lock], { token: 't1', lockMs: 60_000 })).toBe(true)
    expect(await store.run(unlockOp, [value, lock], { token: 't1' })).toBe(true)
    expect(await store.get(lock)).toBeUndefined()
  })

  it('fills a value it holds and releases the lock', async () => {
    const { store, value, lock } = await full(true)
    const written = await store.run(fillOp, [value, lock], {
      value: 'aikit1|1|2|3|x',
      ttlMs: 60_000,
      token: 't1',
      createdAt: 3,
    })
    expect(written).toBe(true)
    expect(await store.get(value)).toBe('aikit1|1|2|3|x')
    expect(await store.get(lock)).toBeUndefined()
  })

  it('still refuses an op that would add a key', async () => {
    const { store, value, lock } = await full(false)
    // The value is a new key: no room for it (the lock is left to its TTL, as on a failed fill).
    const fill = await store
      .run(fillOp, [value, lock], {
        value: 'aikit1|1|2|3|x',
        ttlMs: 60_000,
        token: 't1',
        createdAt: 3,
      })
      .catch((e: unknown) => e)
    expect(fill).toBeInstanceOf(StoreUnavailableError)
    const refused = await store
      .run(readOrLockOp, [store.key('n', 'value'), store.key('n', 'lock')], {
        token: 't2',
        lockMs: 60_000,
        nowMs: 0,
      })
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(StoreUnavailableError)
    expect(store.stats().evictions).toBe(0)
  })
})
