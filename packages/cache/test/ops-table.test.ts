/**
 * The cache's atomic ops give identical results on memoryStore (JS twin) and on a real Redis (Lua).
 */
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../src/envelope.js'
import { fillOp, readOrLockOp, unlockOp } from '../src/ops.js'

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
  out.push(await store.run(fillOp, keys, { value: stale, ttlMs: 60_000, token: 'A' }))
  out.push(strip(await store.run(readOrLockOp, keys, { token: 'C', lockMs: 5000, nowMs: now })))
  out.push(await store.run(fillOp, keys, { value: fresh, ttlMs: 60_000, token: 'C' }))
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
