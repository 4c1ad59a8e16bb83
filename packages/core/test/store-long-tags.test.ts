/**
 * A tag longer than `MAX_TAG_LENGTH` (256) characters is stored under its SHA-256 digest, on both
 * stores and on the memory store's tag index alike. Tags come from clients (a rate-limit key read
 * from an API-key header, a budget subject): a memory store bounded by its key count held every
 * such key whole (100,000 keys of 8 KB: ~800 MB), and Redis as much. Distinct tags keep distinct
 * keys; a key built with `store.key` reaches what a tagged run wrote.
 */
import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { defineOp, memoryStore, type NativeData, type Store } from '@aikit/core'
import { MAX_TAG_LENGTH } from '@aikit/core/adapter'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const bump = defineOp<number, number>({
  name: 'test.longTagBump',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => {
    const key = keys[0] as string
    const next = Number(data.get(key) ?? 0) + Number(argv[0])
    data.set(key, String(next))
    return next
  },
  native: (data: NativeData, keys, by) => {
    const key = keys[0] as string
    const next = Number(data.get(key) ?? 0) + by
    data.set(key, next, 60_000)
    return next
  },
  encode: (by) => [String(by)],
  decode: (reply) => Number(reply),
})

const long = (fill: string, length = 8_000) =>
  fill.repeat(Math.ceil(length / fill.length)).slice(0, length)

describe('long tags on memoryStore', () => {
  it('keeps tags up to the limit as written, and builds short keys for longer ones', () => {
    const store = memoryStore()
    const edge = 'a'.repeat(MAX_TAG_LENGTH)
    expect(store.key(edge, 'x')).toBe(`aikit:{${edge}}:x`)
    const key = store.key(`${edge}b`, 'x')
    expect(key.length).toBeLessThan(100)
    expect(key.startsWith('aikit:{\u0000sha256:')).toBe(true)
    expect(key.slice(15)).toMatch(/^[0-9a-f]{64}\}:x$/)
  })

  it('gives distinct long tags distinct keys (a lone surrogate too)', () => {
    const store = memoryStore()
    const a = long('a')
    const keys = new Set([
      store.key(a, 'x'),
      store.key(`${a}b`, 'x'),
      store.key(`b${a}`, 'x'),
      store.key(`${a}\uD83D`, 'x'),
      store.key(`${a}\uD83E`, 'x'),
      store.key(`${a}{`, 'x'),
      store.key(`${a}%7B`, 'x'),
    ])
    expect(keys.size).toBe(7)
    expect(store.key(a, 'x')).toBe(store.key(long('a'), 'x'))
  })

  it('a tagged run and a run on store.key() keys reach the same value', async () => {
    const store = memoryStore()
    const tag = long('k')
    expect(store.run.syncTagged(bump, tag, ['n'], 2)).toBe(2)
    expect(await store.run(bump, [store.key(tag, 'n')], 3)).toBe(5)
    expect(store.run.syncTagged(bump, tag, ['n'], 1)).toBe(6)
    expect(store.run.syncTagged(bump, `${tag}!`, ['n'], 1)).toBe(1)
  })

  it('does not hold the long tags themselves', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const store = memoryStore()
    gc()
    const before = process.memoryUsage().heapUsed
    // 1,000 distinct 8 KB tags: ~8 MB of text held whole, ~0.3 MB as digests.
    for (let i = 0; i < 1_000; i++) {
      store.run.syncTagged(bump, randomBytes(4_000).toString('hex'), ['n'], 1)
    }
    gc()
    const grown = process.memoryUsage().heapUsed - before
    expect(store.stats().keys).toBe(1_000)
    expect(grown).toBeLessThan(3_000_000)
  }, 30_000)
})

describe('long tags on redisStore', () => {
  let server: RedisServer
  let client: Redis
  let store: Store
  beforeAll(async () => {
    server = await startRedis()
    client = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 })
    await whenReady(client)
    // The keys are under test, not the timeout: the default 50 ms is too short for a new client's
    // first script (EVALSHA, NOSCRIPT, EVAL) on a loaded runner.
    store = redisStore(client, { prefix: 'lt', commandTimeoutMs: 5_000 })
  })
  afterAll(async () => {
    await client?.quit()
    await server?.stop()
  })

  it('sends a digest key for a long tag, the same one the memory store builds', async () => {
    const tag = long('r')
    const key = store.key(tag, 'n')
    expect(key).toBe(memoryStore({ prefix: 'lt' }).key(tag, 'n'))
    expect(await store.run(bump, [key], 4)).toBe(4)
    expect(await store.run(bump, [store.key(tag, 'n')], 1)).toBe(5)
    const stored = await client.keys('lt:*')
    expect(stored).toEqual([key])
    expect(Buffer.byteLength(stored[0] as string)).toBeLessThan(100)
  })
})
