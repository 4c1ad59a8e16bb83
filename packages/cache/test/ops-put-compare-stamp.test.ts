/**
 * `putOp`'s comparison stamp (`compareAt`, used by a delete's tombstone) gives identical results on
 * memoryStore (JS twin) and on a real Redis (Lua): the value is written over a missing, unreadable
 * or stored entry created no later than `compareAt`, never over one created after it, whatever
 * `createdAt` the written value carries. Without `compareAt` the written `createdAt` is compared.
 */
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeEnvelope } from '../src/envelope.js'
import { putOp } from '../src/ops.js'

let server: RedisServer
const stores: Record<string, Store> = {}
beforeAll(async () => {
  server = await startRedis()
  const client = server.client()
  await whenReady(client)
  stores.redis = redisStore(client, {
    prefix: `cmp${Math.random().toString(36).slice(2, 8)}`,
    commandTimeoutMs: 2000,
  })
  stores.memory = memoryStore()
})
afterAll(async () => {
  await server?.stop()
})

const entry = (createdAt: number, payload: string) =>
  encodeEnvelope(
    { createdAt, freshUntil: createdAt + 60_000, staleUntil: createdAt + 120_000, tags: undefined },
    'json',
    payload
  )
const tomb = (createdAt: number) =>
  encodeEnvelope({ createdAt, freshUntil: 0, staleUntil: 0, tags: undefined }, 'u', '')

/** A stored value (undefined: none), then a put; expected: whether it is written. */
type Row = [
  stored: string | undefined,
  value: string,
  createdAt: number,
  compareAt: number | undefined,
]

const rows = (now: number): [string, Row, boolean][] => [
  // A delete at `now` stores a tombstone stamped now + 1, compared with now.
  [
    'over a set one ms after the delete',
    [entry(now + 1, '"a"'), tomb(now + 1), now + 1, now],
    false,
  ],
  ['over a set in the delete ms', [entry(now, '"a"'), tomb(now + 1), now + 1, now], true],
  ['over an older set', [entry(now - 1, '"a"'), tomb(now + 1), now + 1, now], true],
  ['over a missing value', [undefined, tomb(now + 1), now + 1, now], true],
  ['over garbage', ['garbage', tomb(now + 1), now + 1, now], true],
  [
    'over another version',
    ['aikit2|9|9|99999999999999999|json|\n1', tomb(now + 1), now + 1, now],
    true,
  ],
  // A set stamped like the tombstone, landing after it: equal stamps are written.
  [
    'a set over a tombstone of its stamp',
    [tomb(now + 1), entry(now + 1, '"b"'), now + 1, undefined],
    true,
  ],
  [
    'a set over a later tombstone',
    [tomb(now + 2), entry(now + 1, '"b"'), now + 1, undefined],
    false,
  ],
  // Only compareAt is read, not the written value's createdAt.
  [
    'compareAt later than createdAt',
    [entry(now + 10, '"a"'), entry(now + 5, '"b"'), now + 5, now + 10],
    true,
  ],
  [
    'compareAt earlier than createdAt',
    [entry(now + 10, '"a"'), entry(now + 20, '"b"'), now + 20, now + 9],
    false,
  ],
]

async function scenario(store: Store, now: number): Promise<unknown[]> {
  const key = store.key('cache:cmp', 'cache')
  const out: unknown[] = []
  for (const [, [stored, value, createdAt, compareAt]] of rows(now)) {
    await store.delete(key)
    if (stored !== undefined) await store.set(key, stored)
    const input = compareAt === undefined ? { createdAt } : { createdAt, compareAt }
    out.push(await store.run(putOp, [key], { value, ttlMs: 60_000, ...input }))
    out.push(await store.get(key))
  }
  return out
}

describe('putOp compareAt: Lua and JS twins agree', () => {
  it('writes only over entries created no later than compareAt, on both stores', async () => {
    const now = Date.now()
    const redis = await scenario(stores.redis as Store, now)
    const memory = await scenario(stores.memory as Store, now)
    expect(memory).toEqual(redis)
    const table = rows(now)
    table.forEach(([name, [stored, value], written], i) => {
      expect({ name, written: redis[2 * i] }).toEqual({ name, written })
      expect({ name, stored: redis[2 * i + 1] }).toEqual({ name, stored: written ? value : stored })
    })
  })
})
