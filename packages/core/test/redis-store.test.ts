import {
  defineOp,
  InvalidOptionsError,
  type StoreEventInfo,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@aikit/core'
import { redisStore, scriptSha } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { sha1Hex } from '../src/redis/sha1.js'

const incr = defineOp({
  name: 'incr',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0]!, Number(argv[0])),
  encode: (n: number) => [String(n)],
  decode: (reply) => reply as number,
})

const hget = defineOp({
  name: 'hget',
  lua: "return redis.call('HGET', KEYS[1], 'f')",
  js: (data, keys) => data.hget(keys[0]!, 'f'),
  encode: () => [],
  decode: (reply) => reply,
})

let server: RedisServer
let client: Redis
let admin: Redis

beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  admin = server.client()
  await Promise.all([client.ping(), admin.ping()])
})

afterAll(async () => {
  await server?.stop()
})

describe('script registry', () => {
  it('computes the SHA-1 Redis computes', async () => {
    expect(sha1Hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709')
    expect(sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d')
    for (const script of ['return 1', `return '${'x'.repeat(200)}' -- héllo ✓`, incr.lua]) {
      expect(sha1Hex(script)).toBe(await admin.script('LOAD', script))
    }
    expect(scriptSha(incr)).toBe(sha1Hex(incr.lua))
  })

  it('reloads the script with EVAL after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const store = redisStore(client, { commandTimeoutMs: 2000 })
    const key = store.key('noscript', 'n')
    expect(await store.run(incr, [key], 1)).toBe(1)
    await admin.script('FLUSH')
    expect(await admin.script('EXISTS', scriptSha(incr))).toEqual([0])
    const evalsha = vi.spyOn(client, 'evalsha')
    const evalSpy = vi.spyOn(client, 'eval')
    expect(await store.run(incr, [key], 2)).toBe(3)
    expect(evalsha).toHaveBeenCalledTimes(1)
    expect(evalSpy).toHaveBeenCalledTimes(1)
    expect(await admin.script('EXISTS', scriptSha(incr))).toEqual([1])
    expect(await store.run(incr, [key], 3)).toBe(6)
    expect(evalsha).toHaveBeenCalledTimes(2)
    expect(evalSpy).toHaveBeenCalledTimes(1)
    vi.restoreAllMocks()
  })
})

describe('redisStore basics', () => {
  it('gets, sets with PX and deletes under the prefix', async () => {
    const store = redisStore(client, { prefix: 'basics', commandTimeoutMs: 2000 })
    expect([store.kind, store.local, store.breakerState]).toEqual(['redis', false, 'closed'])
    const key = store.key('u1', 'v')
    expect(key).toBe('basics:{u1}:v')
    await store.set(key, 'value', { ttlMs: 60_000.5 })
    expect(await admin.get(key)).toBe('value')
    const pttl = await admin.pttl(key)
    expect(pttl).toBeGreaterThan(50_000)
    expect(pttl).toBeLessThanOrEqual(60_001)
    expect(await store.get(key)).toBe('value')
    expect(await store.delete(key)).toBe(true)
    expect(await store.delete(key)).toBe(false)
    expect(await store.get(key)).toBeUndefined()
  })

  it('passes script errors through without counting them as breaker failures', async () => {
    const store = redisStore(client, { commandTimeoutMs: 2000, breaker: { failureThreshold: 2 } })
    const key = store.key('wrongtype')
    await store.set(key, 'string')
    for (let i = 0; i < 4; i++) {
      const error = await store.run(hget, [key], undefined).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      expect(error).not.toBeInstanceOf(StoreUnavailableError)
      expect((error as Error).message).toMatch(/WRONGTYPE/)
    }
    expect(store.breakerState).toBe('closed')
  })

  it('rejects CROSSSLOT keys before calling Redis', async () => {
    const store = redisStore(client)
    const evalsha = vi.spyOn(client, 'evalsha')
    await expect(store.run(incr, [store.key('a'), store.key('b')], 1)).rejects.toMatchObject({
      field: 'keys',
    })
    expect(evalsha).not.toHaveBeenCalled()
    vi.restoreAllMocks()
  })

  it('rejects calls after close() but leaves the client connected', async () => {
    const store = redisStore(client)
    await store.close()
    await expect(store.get('x')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      reason: 'closed',
    })
    expect(await client.ping()).toBe('PONG')
  })
})

// Timeouts of 250 ms against pauses of 1.5 s: a call answered before the pause must not time out
// on a loaded machine (50 ms did), and every call made during it must.
describe('command timeout', () => {
  it('rejects a call that Redis does not answer within commandTimeoutMs with StoreTimeoutError', async () => {
    const store = redisStore(client, { commandTimeoutMs: 250 })
    const key = store.key('slow', 'n')
    expect(await store.run(incr, [key], 1)).toBe(1)
    // Every client is paused (even an UNPAUSE would wait), so the pause simply runs out.
    await admin.client('PAUSE', 1500, 'ALL')
    await expect(store.run(incr, [key], 1)).rejects.toBeInstanceOf(StoreTimeoutError)
    await expect(store.get(key)).rejects.toMatchObject({ code: 'STORE_TIMEOUT', timeoutMs: 250 })
    // The timed-out INCRBY still ran once Redis resumed; the store keeps working.
    await vi.waitFor(async () => expect(await admin.get(key)).toBe('2'), { timeout: 5000 })
    expect(await store.run(incr, [key], 1)).toBe(3)
  })
})

describe('command timeout shared by many calls', () => {
  it('times out every GET still unanswered, each with StoreTimeoutError, and keeps serving', async () => {
    const c = server.client({ maxRetriesPerRequest: 1 })
    try {
      await c.ping()
      const store = redisStore(c, { commandTimeoutMs: 250, breaker: { failureThreshold: 1000 } })
      const key = store.key('many', 'v')
      await admin.set(key, 'v1')
      // Answered before the pause: none of these may time out later.
      expect(await Promise.all(Array.from({ length: 20 }, () => store.get(key)))).toEqual(
        Array(20).fill('v1')
      )
      await admin.client('PAUSE', 1500, 'ALL')
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.get(key).catch((e: unknown) => e))
      )
      for (const outcome of outcomes) {
        expect(outcome).toBeInstanceOf(StoreTimeoutError)
        expect(outcome).toMatchObject({ code: 'STORE_TIMEOUT', timeoutMs: 250 })
      }
      await vi.waitFor(async () => expect(await store.get(key)).toBe('v1'), { timeout: 5000 })
    } finally {
      c.disconnect()
    }
  })

  // A timeout that another call's answer overtook is not counted (one hung Cluster master must not
  // open the circuit for the others: redis-cluster-one-master-down.test.ts). A burst in which no
  // call is answered still opens it.
  it('opens the circuit when every call of a concurrent burst times out', async () => {
    const c = server.client({ maxRetriesPerRequest: 1 })
    try {
      await c.ping()
      const store = redisStore(c, { commandTimeoutMs: 250, breaker: { openMs: 60_000 } })
      const degraded: StoreEventInfo[] = []
      store.on('degraded', (info) => degraded.push(info))
      const key = store.key('burst', 'v')
      await admin.set(key, 'v1')
      expect(await Promise.all(Array.from({ length: 20 }, () => store.get(key)))).toEqual(
        Array(20).fill('v1')
      )
      await admin.client('PAUSE', 1500, 'ALL')
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.get(key).catch((e: unknown) => e))
      )
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(StoreTimeoutError)
      expect(degraded).toHaveLength(1)
      expect(degraded[0]).toMatchObject({ reason: 'failures', failures: 5 })
      expect(store.breakerState).toBe('open')
      // Paused too: answers once the pause has run out.
      await admin.ping()
    } finally {
      c.disconnect()
    }
  })
})

describe('ioredis client options on the GET path', () => {
  it("honours the client's keyPrefix, as client.get does", async () => {
    const prefixed = server.client({ keyPrefix: 'pre:' })
    try {
      const store = redisStore(prefixed, { commandTimeoutMs: 2000 })
      await admin.set('pre:plain', 'through-prefix')
      expect(await store.get('plain')).toBe('through-prefix')
      await store.set('written', 'w')
      expect(await admin.get('pre:written')).toBe('w')
    } finally {
      prefixed.disconnect()
    }
  })

  it('uses client.get on an auto-pipelining client', async () => {
    const piped = server.client({ enableAutoPipelining: true })
    try {
      await piped.ping()
      const get = vi.spyOn(piped, 'get')
      const store = redisStore(piped, { commandTimeoutMs: 2000 })
      await admin.set('piped:k', 'p')
      expect(await store.get('piped:k')).toBe('p')
      expect(get).toHaveBeenCalledWith('piped:k')
    } finally {
      vi.restoreAllMocks()
      piped.disconnect()
    }
  })
})

describe('coalesceWrites', () => {
  const stream = (c: Redis) => (c as unknown as { stream: { writableCorked: number } }).stream
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

  it('holds the socket corked for the commands of one turn, then sends them together', async () => {
    const c = server.client({ maxRetriesPerRequest: 1 })
    try {
      await c.ping()
      const store = redisStore(c, { commandTimeoutMs: 2000 })
      const keys = Array.from({ length: 30 }, (_, i) => store.key('cork', String(i)))
      await Promise.all(keys.map((k, i) => admin.set(k, `v${i}`)))
      await nextTurn()
      const gets = keys.map((k) => store.get(k))
      const run = store.run(incr, [store.key('cork', 'n')], 2)
      expect(stream(c).writableCorked).toBe(1)
      await nextTurn()
      expect(stream(c).writableCorked).toBe(0)
      expect(await Promise.all(gets)).toEqual(keys.map((_, i) => `v${i}`))
      expect(await run).toBe(2)
    } finally {
      c.disconnect()
    }
  })

  it('writes script calls as they come (a turn of scripts is not held back)', async () => {
    const c = server.client({ maxRetriesPerRequest: 1 })
    try {
      await c.ping()
      const store = redisStore(c, { commandTimeoutMs: 2000 })
      const runs = Array.from({ length: 5 }, () => store.run(incr, [store.key('cork', 's')], 1))
      expect(stream(c).writableCorked).toBe(0)
      expect((await Promise.all(runs)).sort()).toEqual([1, 2, 3, 4, 5])
    } finally {
      c.disconnect()
    }
  })

  it('never corks with coalesceWrites: false', async () => {
    const c = server.client({ maxRetriesPerRequest: 1 })
    try {
      await c.ping()
      const store = redisStore(c, { commandTimeoutMs: 2000, coalesceWrites: false })
      await admin.set('uncorked', 'u')
      const got = store.get('uncorked')
      expect(stream(c).writableCorked).toBe(0)
      expect(await got).toBe('u')
    } finally {
      c.disconnect()
    }
  })
})

describe('circuit breaker on a real outage', () => {
  it('opens after N failures, fails fast, probes when half-open and recovers after a restart', async () => {
    const outage = await startRedis()
    try {
      // Default ioredis options: commands queue offline while Redis is down, our timeout bounds them.
      const c = outage.client()
      await c.ping()
      const store = redisStore(c, {
        commandTimeoutMs: 250,
        breaker: { failureThreshold: 3, openMs: 200 },
      })
      const degraded: StoreEventInfo[] = []
      const recovered: StoreEventInfo[] = []
      store.on('degraded', (info) => degraded.push(info))
      store.on('recovered', (info) => recovered.push(info))
      const key = store.key('outage', 'n')
      expect(await store.run(incr, [key], 1)).toBe(1)

      await outage.kill()
      for (let i = 0; i < 3; i++) {
        const error = await store.run(incr, [key], 1).catch((e: unknown) => e)
        expect([StoreTimeoutError, StoreUnavailableError].some((E) => error instanceof E)).toBe(
          true
        )
      }
      expect(store.breakerState).toBe('open')
      expect(degraded).toHaveLength(1)
      expect(degraded[0]).toMatchObject({ store: 'redis', reason: 'failures', failures: 3 })

      const evalsha = vi.spyOn(c, 'evalsha')
      // GET is sent as ioredis's own Command through sendCommand: nothing may reach it.
      const sendCommand = vi.spyOn(c, 'sendCommand')
      await expect(store.run(incr, [key], 1)).rejects.toMatchObject({ reason: 'circuit-open' })
      await expect(store.get(key)).rejects.toBeInstanceOf(StoreUnavailableError)
      expect(evalsha).not.toHaveBeenCalled()
      expect(sendCommand).not.toHaveBeenCalled()

      // Half-open while still down: the single probe fails and the circuit opens again.
      await vi.waitFor(() => expect(store.breakerState).toBe('half-open'), { timeout: 5000 })
      await expect(store.run(incr, [key], 1)).rejects.toBeInstanceOf(StoreTimeoutError)
      expect(evalsha).toHaveBeenCalledTimes(1)
      expect(store.breakerState).toBe('open')
      expect(degraded).toHaveLength(1)

      await outage.restart()
      await vi.waitFor(() => expect(c.status).toBe('ready'), { timeout: 10_000, interval: 50 })
      await vi.waitFor(() => expect(store.breakerState).toBe('half-open'), { timeout: 5000 })
      // A fresh key: commands that timed out in ioredis's offline queue may replay on reconnect.
      const after = store.key('outage', 'after')
      expect(await store.run(incr, [after], 5)).toBe(5)
      expect(store.breakerState).toBe('closed')
      expect(recovered).toHaveLength(1)
      expect(recovered[0]).toMatchObject({ store: 'redis', reason: 'probe-succeeded' })
      expect(typeof recovered[0]?.downMs).toBe('number')
      expect(await store.run(incr, [after], 1)).toBe(6)
    } finally {
      vi.restoreAllMocks()
      await outage.stop()
    }
  })
})

describe('option validation', () => {
  const field = (fn: () => unknown): string => {
    try {
      fn()
    } catch (error) {
      return error instanceof InvalidOptionsError ? error.field : `wrong error: ${error}`
    }
    return 'no error'
  }

  it('names the field at fault', () => {
    const lazy = new Redis({ lazyConnect: true })
    expect(field(() => redisStore({} as never))).toBe('client')
    expect(field(() => redisStore(null as never))).toBe('client')
    expect(field(() => redisStore(lazy, { prefix: 'a{b' }))).toBe('prefix')
    expect(field(() => redisStore(lazy, { prefix: 'a}' }))).toBe('prefix')
    expect(field(() => redisStore(lazy, { commandTimeoutMs: -1 }))).toBe('commandTimeoutMs')
    expect(field(() => redisStore(lazy, { commandTimeoutMs: Number.NaN }))).toBe('commandTimeoutMs')
    expect(field(() => redisStore(lazy, { breaker: { failureThreshold: 0 } }))).toBe(
      'breaker.failureThreshold'
    )
    expect(field(() => redisStore(lazy, { breaker: { openMs: -5 } }))).toBe('breaker.openMs')
    expect(field(() => redisStore(lazy, { breaker: 'x' as never }))).toBe('breaker')
    expect(field(() => redisStore(lazy, { breaker: false }))).toBe('no error')
    expect(field(() => redisStore(lazy, { coalesceWrites: 'yes' as never }))).toBe('coalesceWrites')
    expect(field(() => redisStore(lazy, { coalesceWrites: false }))).toBe('no error')
    expect(field(() => redisStore(lazy, { commandTimeoutMs: Number.POSITIVE_INFINITY }))).toBe(
      'no error'
    )
    lazy.disconnect()
  })

  it('refuses a misspelt option instead of keeping its default silently', () => {
    const lazy = new Redis({ lazyConnect: true })
    expect(field(() => redisStore(lazy, { commandTimeoutMS: 1000 } as never))).toBe(
      'commandTimeoutMS'
    )
    expect(field(() => redisStore(lazy, { breaker: { openms: 100 } as never }))).toBe(
      'breaker.openms'
    )
    expect(() => redisStore(lazy, { commandTimeoutMS: 1000 } as never)).toThrow(
      /did you mean `commandTimeoutMs`/
    )
    lazy.disconnect()
  })

  it('refuses a commandTimeoutMs past the longest timer delay (it would fire after 1 ms)', () => {
    const lazy = new Redis({ lazyConnect: true })
    expect(field(() => redisStore(lazy, { commandTimeoutMs: 2 ** 31 }))).toBe('commandTimeoutMs')
    expect(field(() => redisStore(lazy, { commandTimeoutMs: 2 ** 31 - 1 }))).toBe('no error')
    lazy.disconnect()
  })
})
