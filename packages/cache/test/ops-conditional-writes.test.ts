/**
 * The cache's conditional writes give identical results on memoryStore (JS twin) and on a real
 * Redis (Lua). `putOp` (a `set`, a delete's tombstone) writes over a missing, unreadable, older or
 * equally old entry, never over a newer one, with the expiry it is given. `tagTimeOp` (a tag time
 * written again after an outage) writes only over a missing or earlier time.
 */
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../src/envelope.js'
import { putOp, tagTimeOp } from '../src/ops.js'

let server: RedisServer
const stores: Record<string, Store> = {}
beforeAll(async () => {
  server = await startRedis()
  const client = server.client()
  await whenReady(client)
  stores.redis = redisStore(client, {
    prefix: `put${Math.random().toString(36).slice(2, 8)}`,
    commandTimeoutMs: 2000,
  })
  stores.memory = memoryStore()
})
afterAll(async () => {
  await server?.stop()
})

const entry = (createdAt: number, payload: string, tags?: string[]) =>
  encodeEnvelope(
    { createdAt, freshUntil: createdAt + 60_000, staleUntil: createdAt + 120_000, tags },
    'json',
    payload
  )

async function scenario(store: Store, now: number): Promise<unknown[]> {
  const key = store.key('cache:k', 'cache')
  const out: unknown[] = []
  const put = async (value: string, createdAt: number, ttlMs = 60_000) => {
    out.push(await store.run(putOp, [key], { value, ttlMs, createdAt }))
    out.push(await store.get(key))
  }
  await put(entry(now, '"first"'), now) // missing: written
  await put(entry(now - 1, '"older"'), now - 1) // older: refused
  await put(entry(now, '"same ms"', ['t|x']), now) // equal: written
  await put(entry(now + 5, '"newer"'), now + 5) // newer: written
  // A tombstone (fresh and stale until 0) stamped before the stored entry: refused; after: written.
  const tomb = (at: number) =>
    encodeEnvelope({ createdAt: at, freshUntil: 0, staleUntil: 0, tags: undefined }, 'u', '')
  await put(tomb(now + 4), now + 4)
  await put(tomb(now + 6), now + 6)
  await put(entry(now + 5, '"before the delete"'), now + 5)
  // A large stored value (its header is read, not the whole value) and its own order.
  await put(entry(now + 10, `"${'x'.repeat(100_000)}"`), now + 10)
  await put(entry(now + 9, '"older than the large one"'), now + 9)
  await put(entry(now + 10, '"same ms as the large one"'), now + 10)
  // Another format version, or garbage: replaced.
  await store.set(key, 'aikit2|9|9|99999999999999999|json|\n1')
  await put(entry(now, '"over another version"'), now)
  await store.set(key, 'garbage')
  // A ttl long enough for the read right after the write on a loaded runner.
  await put(entry(now, '"over garbage"'), now, 500)
  await new Promise((resolve) => setTimeout(resolve, 600))
  out.push(await store.get(key)) // expired after its ttl
  return out
}

describe('putOp: Lua and JS twins agree', () => {
  it('writes over missing, unreadable, older or equal entries only, on both stores', async () => {
    const now = Date.now()
    const redis = await scenario(stores.redis as Store, now)
    const memory = await scenario(stores.memory as Store, now)
    expect(memory).toEqual(redis)
    const written = redis.filter((_, i) => i % 2 === 0 && i < redis.length - 1)
    expect(written).toEqual([
      true,
      false,
      true,
      true,
      false,
      true,
      false,
      true,
      false,
      true,
      true,
      true,
    ])
    expect(redis[redis.length - 1]).toBeUndefined()
  })
})

async function tagScenario(store: Store, now: number): Promise<unknown[]> {
  const key = store.key('t:team:1', 'cache', 'tag')
  const out: unknown[] = []
  const write = async (at: number, ttlMs: number) => {
    out.push(await store.run(tagTimeOp, [key], { at, ttlMs }))
    out.push(await store.get(key))
  }
  await write(now, 60_000) // missing: written
  await write(now - 1, 60_000) // earlier: refused
  await write(now, 60_000) // the same: refused
  await write(now + 1, 0) // later, no expiry: written
  await store.set(key, 'not a time')
  await write(now, 500) // unreadable: written (read back at once: a ttl long enough for that)
  await new Promise((resolve) => setTimeout(resolve, 600))
  out.push(await store.get(key)) // expired after its ttl
  return out
}

describe('tagTimeOp: Lua and JS twins agree', () => {
  it('writes over a missing, unreadable or earlier time only, on both stores', async () => {
    const now = Date.now()
    const redis = await tagScenario(stores.redis as Store, now)
    const memory = await tagScenario(stores.memory as Store, now)
    expect(memory).toEqual(redis)
    expect(redis.filter((_, i) => i % 2 === 0 && i < redis.length - 1)).toEqual([
      true,
      false,
      false,
      true,
      true,
    ])
    expect(redis[redis.length - 1]).toBeUndefined()
  })
})
