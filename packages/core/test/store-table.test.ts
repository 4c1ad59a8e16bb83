/**
 * The shared store table: every sample op and call sequence runs on memoryStore, on a real
 * redis-server and on a real 3-node Redis Cluster, and must give the expected (hence identical)
 * results everywhere.
 */

import {
  defineOp,
  InvalidOptionsError,
  LUA_NOW_MS,
  luaToString,
  memoryStore,
  type Store,
} from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  type RedisServer,
  rawCommand,
  startRedis,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { type RedisSentinelHandle, startRedisSentinel } from '@aikit/testing/sentinel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const asArray = (reply: unknown): unknown[] => {
  if (!Array.isArray(reply))
    throw new Error(`expected an array reply, got ${JSON.stringify(reply)}`)
  return reply
}

/** INCR with an expiry set on creation; returns [count, ttl rounded to seconds]. */
const incrWithTtl = defineOp({
  name: 'incrWithTtl',
  lua: `
local n = redis.call('INCRBY', KEYS[1], 1)
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return {n, math.floor((ttl + 500) / 1000)}
`,
  js: (data, keys, argv) => {
    const key = keys[0]!
    const n = data.incrby(key, 1)
    if (n === 1) data.pexpire(key, Number(argv[0]))
    const ttl = data.pttl(key)
    return [n, Math.floor((ttl + 500) / 1000)]
  },
  encode: (ttlMs: number) => [String(ttlMs)],
  decode: (reply) => {
    const [count, ttlSeconds] = asArray(reply) as [number, number]
    return { count, ttlSeconds }
  },
})

/** GCRA: one TAT per key, the server clock. Returns [allowed 1/0, remaining or retry seconds]. */
const gcra = defineOp({
  name: 'gcra',
  lua: `${LUA_NOW_MS}
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or nowMs)
if tat < nowMs then tat = nowMs end
local newTat = tat + interval
local allowAt = newTat - burst * interval
if allowAt > nowMs then
  return {0, math.floor((allowAt - nowMs + 500) / 1000)}
end
redis.call('SET', KEYS[1], newTat, 'PX', newTat - nowMs)
return {1, math.floor((nowMs - allowAt) / interval)}
`,
  js: (data, keys, argv, nowMs) => {
    const interval = Number(argv[0])
    const burst = Number(argv[1])
    let tat = Number(data.get(keys[0]!) ?? nowMs)
    if (tat < nowMs) tat = nowMs
    const newTat = tat + interval
    const allowAt = newTat - burst * interval
    if (allowAt > nowMs) return [0, Math.floor((allowAt - nowMs + 500) / 1000)]
    data.set(keys[0]!, newTat, { px: newTat - nowMs })
    return [1, Math.floor((nowMs - allowAt) / interval)]
  },
  encode: (i: { intervalMs: number; burst: number }) => [String(i.intervalMs), String(i.burst)],
  decode: (reply) => {
    const [allowed, n] = asArray(reply) as [number, number]
    return allowed === 1 ? { allowed: true, remaining: n } : { allowed: false, retryAfterS: n }
  },
})

/** Budget in a hash: add `amount` to `field` unless the total would pass `limit`. */
const hashBudget = defineOp({
  name: 'hashBudget',
  lua: `
local total = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
local allowed = 1
if total > tonumber(ARGV[3]) then
  total = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
  allowed = 0
end
if total == 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[2], 'last', ARGV[1], 'calls', redis.call('HINCRBY', KEYS[2], 'n', 1))
return {allowed, total, redis.call('HGETALL', KEYS[1]), redis.call('HMGET', KEYS[2], 'last', 'nope', 'calls'), redis.call('EXISTS', KEYS[1])}
`,
  js: (data, keys, argv) => {
    const [budget, meta] = keys as [string, string]
    const field = argv[0]!
    const amount = Number(argv[1])
    let total = data.hincrby(budget, field, amount)
    let allowed = 1
    if (total > Number(argv[2])) {
      total = data.hincrby(budget, field, -amount)
      allowed = 0
    }
    if (total === 0) data.hdel(budget, field)
    data.hset(meta, 'last', field, 'calls', data.hincrby(meta, 'n', 1))
    const metaValues = data.hmget(meta, 'last', 'nope', 'calls').map((v) => v ?? false)
    return [allowed, total, data.hgetall(budget), metaValues, data.exists(budget)]
  },
  encode: (i: { field: string; amount: number; limit: number }) => [
    i.field,
    String(i.amount),
    String(i.limit),
  ],
  decode: (reply) => reply,
})

/** Returns a fixed mix of values, showing how Lua values become a reply. */
const mixedReply = defineOp({
  name: 'mixedReply',
  lua: `
return {1, ARGV[1], false, 3.9, -2.5, true, {'nested', false, 7}, nil, 'dropped'}
`,
  js: (_data, _keys, argv) => [1, argv[0], false, 3.9, -2.5, true, ['nested', false, 7], null, 'x'],
  encode: (s: string) => [s],
  decode: (reply) => reply,
})

/** Multiplies a float, stores it via SET (Lua passes %.17g) and returns [stored, reply int, tostring]. */
const floatOp = defineOp({
  name: 'floatOp',
  lua: `
local x = tonumber(ARGV[1]) * 3
redis.call('SET', KEYS[1], x)
return {redis.call('GET', KEYS[1]), x, tostring(x)}
`,
  js: (data, keys, argv) => {
    const x = Number(argv[0]) * 3
    data.set(keys[0]!, x)
    return [data.get(keys[0]!), x, luaToString(x)]
  },
  encode: (s: string) => [s],
  decode: (reply) => reply,
})

/** SET NX PX lock: the status reply 'OK' or nil. */
const acquireLock = defineOp({
  name: 'acquireLock',
  lua: `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])`,
  js: (data, keys, argv) =>
    data.set(keys[0]!, argv[0]!, { nx: true, px: Number(argv[1]) }) ? { ok: 'OK' } : false,
  encode: (i: { token: string; ttlMs: number }) => [i.token, String(i.ttlMs)],
  decode: (reply) => reply === 'OK',
})

/** Deletes the lock only if it holds `token`. */
const releaseLock = defineOp({
  name: 'releaseLock',
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
  js: (data, keys, argv) => (data.get(keys[0]!) === argv[0] ? data.del(keys[0]!) : 0),
  encode: (token: string) => [token],
  decode: (reply) => reply === 1,
})

/** Reads a hash field: fails with WRONGTYPE on a string key on both stores. */
const readField = defineOp({
  name: 'readField',
  lua: `return redis.call('HGET', KEYS[1], ARGV[1])`,
  js: (data, keys, argv) => data.hget(keys[0]!, argv[0]!),
  encode: (field: string) => [field],
  decode: (reply) => reply,
})

/** PTTL / EXISTS / SET KEEPTTL / XX behaviour. */
const ttlProbe = defineOp({
  name: 'ttlProbe',
  lua: `
local before = redis.call('PTTL', KEYS[1])
local xx = redis.call('SET', KEYS[1], 'v1', 'XX')
redis.call('SET', KEYS[1], 'v2', 'PX', 90000)
redis.call('SET', KEYS[1], 'v3', 'KEEPTTL')
local kept = math.floor((redis.call('PTTL', KEYS[1]) + 500) / 1000)
redis.call('SET', KEYS[1], 'v4')
local cleared = redis.call('PTTL', KEYS[1])
local gone = redis.call('PEXPIRE', KEYS[1], 0)
return {before, xx, kept, cleared, gone, redis.call('EXISTS', KEYS[1]), redis.call('PTTL', KEYS[1])}
`,
  js: (data, keys) => {
    const k = keys[0]!
    const before = data.pttl(k)
    const xx = data.set(k, 'v1', { xx: true }) ? { ok: 'OK' } : false
    data.set(k, 'v2', { px: 90000 })
    data.set(k, 'v3', { keepTtl: true })
    const kept = Math.floor((data.pttl(k) + 500) / 1000)
    data.set(k, 'v4')
    const cleared = data.pttl(k)
    const gone = data.pexpire(k, 0)
    return [before, xx, kept, cleared, gone, data.exists(k), data.pttl(k)]
  },
  encode: () => [],
  decode: (reply) => reply,
})

// ---------------------------------------------------------------------------------------------
// Call sequences: each runs on a fresh tag and returns plain values.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Sequence {
  name: string
  run(store: Store, tag: string): Promise<unknown>
  expected: unknown
}

const sequences: Sequence[] = [
  {
    name: 'counter with expiry',
    async run(store, tag) {
      const k = store.key(tag, 'count')
      const out = []
      for (let i = 0; i < 3; i++) out.push(await store.run(incrWithTtl, [k], 60_000))
      return out
    },
    expected: [
      { count: 1, ttlSeconds: 60 },
      { count: 2, ttlSeconds: 60 },
      { count: 3, ttlSeconds: 60 },
    ],
  },
  {
    name: 'GCRA on the store clock',
    async run(store, tag) {
      const k = store.key(tag, 'tat')
      const out = []
      for (let i = 0; i < 5; i++)
        out.push(await store.run(gcra, [k], { intervalMs: 10_000, burst: 3 }))
      return out
    },
    expected: [
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0 },
      { allowed: false, retryAfterS: 10 },
      { allowed: false, retryAfterS: 10 },
    ],
  },
  {
    name: 'hash budget with two keys under one tag',
    async run(store, tag) {
      const keys = [store.key(tag, 'budget'), store.key(tag, 'meta')]
      const out = []
      for (const [field, amount] of [
        ['gpt', 40],
        ['claude', 30],
        ['gpt', 50],
        ['gpt', 25],
        ['claude', -30],
      ] as const) {
        out.push(await store.run(hashBudget, keys, { field, amount, limit: 70 }))
      }
      return out
    },
    expected: [
      [1, 40, ['gpt', '40'], ['gpt', null, '1'], 1],
      [1, 30, ['gpt', '40', 'claude', '30'], ['claude', null, '2'], 1],
      [0, 40, ['gpt', '40', 'claude', '30'], ['gpt', null, '3'], 1],
      [1, 65, ['gpt', '65', 'claude', '30'], ['gpt', null, '4'], 1],
      [1, 0, ['gpt', '65'], ['claude', null, '5'], 1],
    ],
  },
  {
    name: 'Lua value conversions in a reply',
    async run(store) {
      return store.run(mixedReply, [], 'two')
    },
    expected: [1, 'two', null, 3, -2, 1, ['nested', null, 7]],
  },
  {
    name: 'floats: %.17g when stored, truncated when returned, %.14g by tostring',
    async run(store, tag) {
      const k = store.key(tag, 'f')
      const out = []
      for (const x of ['0.1', '-1.5', '123456789.123', '1e-5', '7', '1e20', '1e300']) {
        out.push(await store.run(floatOp, [k], x))
      }
      return out
    },
    expected: [
      ['0.30000000000000004', 0, '0.3'],
      ['-4.5', -4, '-4.5'],
      ['370370367.36899996', 370370367, '370370367.369'],
      ['3.0000000000000004e-05', 0, '3e-05'],
      ['21', 21, '21'],
      ['3e+20', -(2 ** 63), '3e+20'],
      ['3.0000000000000002e+300', -(2 ** 63), '3e+300'],
    ],
  },
  {
    name: 'lock: SET NX PX status reply, compare-and-delete',
    async run(store, tag) {
      const k = store.key(tag, 'lock')
      return [
        await store.run(acquireLock, [k], { token: 'a', ttlMs: 30_000 }),
        await store.run(acquireLock, [k], { token: 'b', ttlMs: 30_000 }),
        await store.run(releaseLock, [k], 'b'),
        await store.get(k),
        await store.run(releaseLock, [k], 'a'),
        await store.run(acquireLock, [k], { token: 'b', ttlMs: 30_000 }),
      ]
    },
    expected: [true, false, false, 'a', true, true],
  },
  {
    name: 'SET XX / KEEPTTL / PEXPIRE 0 / PTTL',
    async run(store, tag) {
      return store.run(ttlProbe, [store.key(tag, 'k')], undefined)
    },
    expected: [-2, null, 90, -1, 1, 0, -2],
  },
  {
    name: 'get / set with ttl / delete',
    async run(store, tag) {
      const k = store.key(tag, 'plain')
      const short = store.key(tag, 'short')
      await store.set(k, 'héllo', { ttlMs: 60_000 })
      await store.set(short, 'x', { ttlMs: 5 })
      await sleep(30)
      return [
        await store.get(k),
        await store.get(short),
        await store.delete(k),
        await store.delete(k),
        await store.get(k),
      ]
    },
    expected: ['héllo', undefined, true, false, undefined],
  },
  {
    // Redis refuses a PX past 2^63 - 1 minus its clock, and `1e+21` (how >= 1e21 is written): a
    // "forever" ttl such as Number.MAX_VALUE is refused before any write on every store, not
    // kept by memoryStore and refused by Redis.
    name: 'set with a ttl above Number.MAX_SAFE_INTEGER is refused (ttlMs), nothing written',
    async run(store, tag) {
      const k = store.key(tag, 'forever')
      const out: unknown[] = []
      for (const ttlMs of [Number.MAX_SAFE_INTEGER + 2, 1e19, 1e21, Number.MAX_VALUE]) {
        const error = await store.set(k, 'v', { ttlMs }).catch((e: unknown) => e)
        out.push(error instanceof InvalidOptionsError ? error.field : `not refused: ${error}`)
      }
      out.push(await store.get(k))
      await store.set(k, 'kept', { ttlMs: Number.MAX_SAFE_INTEGER })
      out.push(await store.get(k))
      return out
    },
    expected: ['ttlMs', 'ttlMs', 'ttlMs', 'ttlMs', undefined, 'kept'],
  },
  {
    name: 'WRONGTYPE rejects on both stores, writes before it stay',
    async run(store, tag) {
      const k = store.key(tag, 'str')
      await store.set(k, 'plain')
      const error = await store.run(readField, [k], 'f').catch((e: Error) => e)
      return [error instanceof Error && /WRONGTYPE/.test(error.message), await store.get(k)]
    },
    expected: [true, 'plain'],
  },
]

// ---------------------------------------------------------------------------------------------

let server: RedisServer
let cluster: RedisClusterHandle
let sentinel: RedisSentinelHandle
const stores: Record<string, Store> = {}
const results: Record<string, Record<string, unknown>> = {}
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  ;[server, cluster, sentinel] = await Promise.all([
    startRedis(),
    startRedisCluster(),
    startRedisSentinel(),
  ])
  const single = server.client({ maxRetriesPerRequest: 1 })
  const clustered = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  const viaSentinel = sentinel.client({ maxRetriesPerRequest: 1 })
  await Promise.all([whenReady(single), whenReady(clustered), whenReady(viaSentinel)])
  // A generous timeout: these tests are about results, not latency (timeouts have their own test).
  const options = { prefix: `t${runId}`, commandTimeoutMs: 5_000 }
  stores.memory = memoryStore({ prefix: `t${runId}` })
  stores.redis = redisStore(single, options)
  stores.cluster = redisStore(clustered, options)
  stores.sentinel = redisStore(viaSentinel, options)
})

afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop(), sentinel?.stop()])
})

describe.each(['memory', 'redis', 'cluster', 'sentinel'])('%s store', (kind) => {
  for (const sequence of sequences) {
    it(sequence.name, async () => {
      const store = stores[kind]!
      const out = await sequence.run(store, `${sequence.name}`)
      results[sequence.name] = { ...results[sequence.name], [kind]: out }
      expect(out).toEqual(sequence.expected)
    })
  }
})

describe('all stores', () => {
  it('gave identical results for every sequence', () => {
    for (const sequence of sequences) {
      const byStore = results[sequence.name]
      expect(Object.keys(byStore ?? {}).sort(), sequence.name).toEqual([
        'cluster',
        'memory',
        'redis',
        'sentinel',
      ])
      expect(byStore?.redis, sequence.name).toEqual(byStore?.memory)
      expect(byStore?.cluster, sequence.name).toEqual(byStore?.memory)
      expect(byStore?.sentinel, sequence.name).toEqual(byStore?.memory)
    }
  })

  it('reloads scripts on every Cluster node after SCRIPT FLUSH', async () => {
    await Promise.all(cluster.nodes.map((n) => rawCommand(n.port, ['SCRIPT', 'FLUSH'])))
    const store = stores.cluster!
    for (const tag of ['a', 'b', 'c', 'd', 'e', 'f']) {
      expect(await store.run(incrWithTtl, [store.key(`flush-${tag}`)], 60_000)).toEqual({
        count: 1,
        ttlSeconds: 60,
      })
    }
  })

  it('spread the sequences over more than one Cluster node (each tag is routed to its slot)', async () => {
    const sizes = await Promise.all(
      cluster.nodes.map((n) => rawCommand(n.port, ['DBSIZE']).then(Number))
    )
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(1)
  })
})
