/**
 * The cache's atomic ops give identical results on memoryStore (JS twin) and on a real Redis (Lua).
 */
import { defineOp, memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../src/envelope.js'
import { extendLockOp, fillOp, readOrLockOp, unlockOp } from '../src/ops.js'

let server: RedisServer
const stores: Record<string, Store> = {}
beforeAll(async () => {
  server = await startRedis()
  const client = server.client()
  await whenReady(client)
  stores.redis = redisStore(client, {
    prefix: `ops${Math.random().toString(36).slice(2, 8)}`,
    commandTimeoutMs: 2000,
  })
  stores.memory = memoryStore()
})
afterAll(async () => {
  await server?.stop()
})

async function scenario(store: Store, now: number): Promise<unknown[]> {
  const keys = [store.key('k1', 'cache'), store.key('k1', 'cache', 'lock')]
  const fresh = encodeEnvelope(
    { createdAt: now, freshUntil: now + 60_000, staleUntil: now + 60_000, tags: undefined },
    'json',
    '1'
  )
  const stale = encodeEnvelope(
    { createdAt: now - 10, freshUntil: now - 5, staleUntil: now + 60_000, tags: ['t'] },
    'json',
    '2'
  )
  const out: unknown[] = []
  const strip = (r: { kind: string; lockMs?: number }) => ({
    ...r,
    lockMs: r.lockMs === undefined ? undefined : r.lockMs > 0,
  })
  out.push(strip(await store.run(readOrLockOp, keys, { token: 'A', lockMs: 5000, nowMs: now })))
  out.push(strip(await store.run(readOrLockOp, keys, { token: 'B', lockMs: 5000, nowMs: now })))
  out.push(await store.run(unlockOp, keys, { token: 'B' }))
  out.push(
    await store.run(fillOp, keys, { value: stale, ttlMs: 60_000, token: 'A', createdAt: now - 10 })
  )
  out.push(strip(await store.run(readOrLockOp, keys, { token: 'C', lockMs: 5000, nowMs: now })))
  out.push(
    await store.run(fillOp, keys, { value: fresh, ttlMs: 60_000, token: 'C', createdAt: now })
  )
  out.push(strip(await store.run(readOrLockOp, keys, { token: 'D', lockMs: 5000, nowMs: now })))
  out.push(
    strip(
      await store.run(readOrLockOp, keys, {
        token: 'D',
        lockMs: 5000,
        nowMs: Number.MAX_SAFE_INTEGER,
      })
    )
  )
  out.push(await store.run(unlockOp, keys, { token: 'D' }))
  return out
}

describe('cache ops: Lua and JS twins agree', () => {
  it('readOrLock / fill / unlock give the same results on both stores', async () => {
    const now = Date.now()
    const redis = await scenario(stores.redis as Store, now)
    const memory = await scenario(stores.memory as Store, now)
    expect(memory).toEqual(redis)
    expect((redis[0] as { kind: string }).kind).toBe('locked')
    expect((redis[1] as { kind: string }).kind).toBe('wait')
    expect((redis[4] as { kind: string; value?: string }).kind).toBe('locked')
    expect((redis[6] as { kind: string }).kind).toBe('fresh')
    expect((redis[7] as { kind: string }).kind).toBe('locked')
  })
})

/**
 * `extendLockOp`: only the holder extends its lock, and only while it holds it (not once it was
 * released, nor once another caller took it over).
 */
/** Test-only: the lock key's PTTL. */
const lockPttl = defineOp<Record<string, never>, number>({
  name: 'test.lockPttl',
  lua: `return redis.call('PTTL', KEYS[2])`,
  js: (data, keys) => data.pttl(keys[1] ?? ''),
  encode: () => [],
  decode: (reply) => Number(reply),
})

async function extendScenario(store: Store): Promise<unknown[]> {
  const keys = [store.key('k3', 'cache'), store.key('k3', 'cache', 'lock')]
  const lock = (token: string, lockMs: number) =>
    store.run(readOrLockOp, keys, { token, lockMs, nowMs: Number.MAX_SAFE_INTEGER })
  const extend = (token: string, lockMs: number) => store.run(extendLockOp, keys, { token, lockMs })
  // The lock's remaining time, bucketed: what both stores agree on whatever the round trips took.
  const ttl = async () => {
    const ms = await store.run(lockPttl, keys, {})
    return ms < 0 ? ms : ms > 30_000 ? 'long' : 'short'
  }
  const out: unknown[] = []
  out.push(await extend('A', 60_000)) // nobody holds it: nothing extended, nothing created
  out.push(await ttl())
  out.push((await lock('A', 5_000)).kind)
  out.push(await ttl())
  out.push(await extend('B', 60_000)) // not the holder
  out.push(await ttl())
  out.push(await extend('A', 60_000)) // the holder
  out.push(await ttl())
  out.push(await extend('A', 5_000)) // an extension may also shorten it (the last one ends at its bound)
  out.push(await ttl())
  out.push(await store.run(unlockOp, keys, { token: 'A' }))
  out.push(await extend('A', 60_000)) // released: not brought back
  out.push(await ttl())
  out.push((await lock('B', 5_000)).kind)
  out.push(await extend('A', 60_000)) // taken over by B
  out.push(await ttl())
  out.push(await store.run(unlockOp, keys, { token: 'B' }))
  return out
}

describe('cache ops: extendLock', () => {
  it('gives the same results on both stores', async () => {
    const redis = await extendScenario(stores.redis as Store)
    const memory = await extendScenario(stores.memory as Store)
    expect(memory).toEqual(redis)
    expect(redis).toEqual([
      false,
      -2,
      'locked',
      'short',
      false,
      'short',
      true,
      'long',
      true,
      'short',
      true,
      false,
      -2,
      'locked',
      false,
      'short',
      true,
    ])
  })
})

/**
 * `fillOp` against what is stored: a fill writes unless the stored envelope is newer (created
 * later, or as late while the filler no longer holds the lock), and releases only its own lock.
 */
async function fillScenario(store: Store, now: number): Promise<unknown[]> {
  const keys = [store.key('k2', 'cache'), store.key('k2', 'cache', 'lock')]
  const at = (createdAt: number, payload: string) =>
    encodeEnvelope(
      {
        createdAt,
        freshUntil: createdAt + 60_000,
        staleUntil: createdAt + 60_000,
        tags: undefined,
      },
      'json',
      payload
    )
  const fill = (value: string, token: string, createdAt: number) =>
    store.run(fillOp, keys, { value, ttlMs: 60_000, token, createdAt })
  const lock = (token: string) =>
    store.run(readOrLockOp, keys, { token, lockMs: 5000, nowMs: Number.MAX_SAFE_INTEGER })
  const out: unknown[] = []
  const state = async () => {
    out.push(await store.get(keys[0] as string))
    out.push(await store.get(keys[1] as string))
  }
  // No lock held, nothing stored: written.
  out.push(await fill(at(now, '"a"'), 'X', now))
  await state()
  // No lock held, stored newer (created later): not written.
  out.push(await fill(at(now - 5, '"older"'), 'X', now - 5))
  await state()
  // No lock held, stored as old: not written.
  out.push(await fill(at(now, '"tie"'), 'X', now))
  await state()
  // No lock held, stored older: written.
  out.push(await fill(at(now + 5, '"b"'), 'X', now + 5))
  await state()
  // Lock held by another filler (Y): a fill by X whose lock expired and was taken does not
  // overwrite a newer value and leaves Y's lock alone.
  out.push((await lock('Y')).kind)
  out.push(await fill(at(now + 1, '"late"'), 'X', now + 1))
  await state()
  // Y holds the lock, stored as old as its fill (a refresh in the same ms): written, lock released.
  out.push(await fill(at(now + 5, '"c"'), 'Y', now + 5))
  await state()
  // Y holds the lock, stored newer (a set elsewhere while Y fetched): not written, lock released.
  out.push((await lock('Y')).kind)
  out.push(await fill(at(now + 2, '"stale fill"'), 'Y', now + 2))
  await state()
  // An unreadable stored value (another format version) is replaced.
  await store.set(keys[0] as string, `aikit0|${now + 99}|x\n"other"`)
  out.push(await fill(at(now + 6, '"d"'), 'X', now + 6))
  await state()
  return out
}

describe('fillOp: a fill never overwrites a newer stored value', () => {
  it('writes only over a missing, unreadable or older value (or as old, holding the lock)', async () => {
    const now = Date.now()
    const redis = await fillScenario(stores.redis as Store, now)
    const memory = await fillScenario(stores.memory as Store, now)
    expect(memory).toEqual(redis)
    const payload = (v: unknown) => (typeof v === 'string' ? v.slice(v.indexOf('\n') + 1) : v)
    // [written, value, lock] per step (a lock step adds its kind first).
    // biome-ignore format: one row per step
    expect(redis.map(payload)).toEqual([
      true, '"a"', undefined,
      false, '"a"', undefined,
      false, '"a"', undefined,
      true, '"b"', undefined,
      'locked', false, '"b"', 'Y',
      true, '"c"', undefined,
      'locked', false, '"c"', undefined,
      true, '"d"', undefined,
    ])
  })
})
