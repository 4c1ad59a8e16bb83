/**
 * redisStore's automatic batching: calls of one op issued together go to Redis as script calls of
 * several calls each, each call with its own reply, in order; a call goes at once when its op's
 * queue reaches a third of the calls waiting on the client (a lone call at once, as a plain
 * EVALSHA of the op), the rest at the end of the turn; NOSCRIPT reloads the wrapper; a script
 * error rejects only its own call; calls with different shapes or arguments share a script call
 * too; a long integer-array reply, a call with many keys and arguments, and a script starting with
 * a `#!lua` flags line get exactly the reply they get alone; on by default, `batch: false` turns
 * it off.
 */
import { defineOp, LUA_NOW_MS, type Store } from '@aikit/core'
import { redisStore, scriptSha } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import fc from 'fast-check'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BATCH_SHARES, MAX_BATCHED_ARGS } from '../src/redis/batch.js'

/** An INCRBY op under `name` (each op object has its own batch queue). */
const incrOp = (name: string) =>
  defineOp<number, number>({
    name,
    lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
    js: (data, keys, argv) => data.incrby(keys[0] as string, Number(argv[0])),
    encode: (n) => [String(n)],
    decode: (reply) => reply as number,
  })

const incr = incrOp('incr')

const failIfNegative = defineOp<number, number>({
  name: 'failIfNegative',
  lua: `if tonumber(ARGV[1]) < 0 then return redis.error_reply('ERR negative') end
if tonumber(ARGV[1]) == 0 then return redis.call('INCR', 'not-a-number-' .. KEYS[1], 'extra') end
return tonumber(ARGV[1]) * 10`,
  js: (_data, _keys, argv) =>
    Number(argv[0]) < 0 ? { err: 'ERR negative' } : Number(argv[0]) * 10,
  encode: (n) => [String(n)],
  decode: (reply) => reply as number,
})

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

/** The ballast of `together`: its keys say so, and the recording client leaves it out. */
const ballast = incrOp('ballast')

/**
 * Issues `calls()` (`n` calls of one op) in one turn right behind BATCH_SHARES times as many calls
 * of another op: their op's queue then never reaches a share of the calls waiting, so they go
 * whole at the end of the turn, as ONE script call. Resolves with their results.
 */
async function together<T>(store: Store, n: number, calls: () => Promise<T>[]): Promise<T[]> {
  const weight = Array.from({ length: BATCH_SHARES * n }, () =>
    store.run(ballast, [store.key('ballast')], 1)
  )
  const [, results] = await Promise.all([Promise.all(weight), Promise.all(calls())])
  return results
}

interface Sent {
  /** The SHA of the script called (EVALSHA), or `'eval'`. */
  sha: string
  keys: number
}

/** A client whose EVALSHA / EVAL calls are recorded, the ballast of `together` left out. */
async function recordingClient(): Promise<{
  client: Redis
  /** SHAs of the EVALSHA calls, in order. */
  shas: () => string[]
  /** Calls carried by each EVALSHA (its keys: one key per call in these tests), in order. */
  sizes: () => number[]
  /** EVAL calls (NOSCRIPT reloads). */
  evals: () => number
  clear: () => void
}> {
  const client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  const sent: Sent[] = []
  const note = (sha: string, args: unknown[]): void => {
    const keys = args.slice(2, 2 + Number(args[1])).map(String)
    if (!keys.some((key) => key.includes('ballast'))) sent.push({ sha, keys: keys.length })
  }
  const evalsha = client.evalsha.bind(client)
  const evalScript = client.eval.bind(client)
  Object.assign(client, {
    evalsha: (...args: Parameters<typeof evalsha>) => {
      note(String(args[0]), args)
      return evalsha(...args)
    },
    eval: (...args: Parameters<typeof evalScript>) => {
      note('eval', args)
      return evalScript(...args)
    },
  })
  const calls = () => sent.filter((s) => s.sha !== 'eval')
  return {
    client,
    shas: () => calls().map((s) => s.sha),
    sizes: () => calls().map((s) => s.keys),
    evals: () => sent.length - calls().length,
    clear: () => {
      sent.length = 0
    },
  }
}

describe('batching', () => {
  it('calls issued together go as one script call, replies in order, NOSCRIPT reloaded', async () => {
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b1', commandTimeoutMs: 5_000, batch: true })
    await log.client.script('FLUSH')
    const replies = await together(store, 20, () =>
      Array.from({ length: 20 }, (_, i) => store.run(incr, [store.key(`k${i % 4}`)], i + 1))
    )
    // k0 gets 1, 5, 9, 13, 17 in this order: running sums 1, 6, 15, 28, 45
    expect(replies.filter((_, i) => i % 4 === 0)).toEqual([1, 6, 15, 28, 45])
    expect(log.sizes()).toEqual([20])
    expect(log.shas()[0]).not.toBe(scriptSha(incr)) // the wrapper...
    expect(log.evals()).toBe(1) // ...which met NOSCRIPT and was reloaded with EVAL
    const again = await together(store, 4, () =>
      [1, 2, 3, 4].map((n) => store.run(incr, [store.key('k0')], n))
    )
    expect(again).toEqual([46, 48, 51, 55])
    expect(log.sizes()).toEqual([20, 4]) // one more wrapper call, now loaded
    expect(new Set(log.shas()).size).toBe(1)
    expect(log.evals()).toBe(1)
  })

  it('a call goes at once when its op has queued a third of the calls waiting on the client', async () => {
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b6', commandTimeoutMs: 5_000, batch: true })
    await store.run(incr, [store.key('warm')], 1) // the op's own script loaded
    log.clear()
    // A lone call is written at once (no wait for the end of the turn), as the op's own script.
    const lone = store.run(incr, [store.key('lone')], 1)
    expect(log.shas()).toEqual([scriptSha(incr)])
    await lone
    log.clear()
    // 12 calls issued together on an idle client: the i-th waits for ceil(i / 3) calls of its op
    // in the queue (the calls already sent count as waiting until they are answered).
    const twelve = Array.from({ length: 12 }, (_, i) => store.run(incr, [store.key('w')], i + 1))
    expect(log.sizes()).toEqual([1, 1, 1, 2, 3, 4])
    expect(await Promise.all(twelve)).toEqual(
      Array.from({ length: 12 }, (_, i) => ((i + 1) * (i + 2)) / 2)
    )
    log.clear()
    // Calls left short of that share go together at the end of the turn (the 6th and 7th here).
    const seven = Array.from({ length: 7 }, () => store.run(incr, [store.key('v')], 1))
    expect(log.sizes()).toEqual([1, 1, 1, 2])
    await new Promise((resolve) => process.nextTick(resolve))
    expect(log.sizes()).toEqual([1, 1, 1, 2, 2])
    expect(await Promise.all(seven)).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('calls with different shapes or arguments share a script call, each with its own reply', async () => {
    const pair = defineOp<{ a: string; b: string }, string[]>({
      name: 'pair',
      lua: "return {redis.call('INCRBY', KEYS[1], ARGV[1]), #KEYS, #ARGV, ARGV[#ARGV]}",
      js: () => [],
      encode: ({ a, b }) => (b === '' ? [a] : [a, b]),
      decode: (reply) => (reply as unknown[]).map(String),
    })
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b7', commandTimeoutMs: 5_000, batch: true })
    // Same shape, same ARGV (sent once), then same shape with different ARGV, then mixed shapes.
    const same = await together(store, 4, () =>
      [0, 1, 2, 3].map((i) => store.run(pair, [store.key(`s${i}`)], { a: '5', b: 'x' }))
    )
    expect(same).toEqual(Array.from({ length: 4 }, () => ['5', '1', '2', 'x']))
    const different = await together(store, 4, () =>
      [1, 2, 3, 4].map((i) => store.run(pair, [store.key('d')], { a: String(i), b: `v${i}` }))
    )
    expect(different).toEqual([
      ['1', '1', '2', 'v1'],
      ['3', '1', '2', 'v2'],
      ['6', '1', '2', 'v3'],
      ['10', '1', '2', 'v4'],
    ])
    const mixed = await together(store, 4, () => [
      store.run(pair, [store.key('m')], { a: '1', b: '' }),
      store.run(pair, [store.key('m')], { a: '2', b: 'y' }),
      store.run(pair, [store.key('m')], { a: '3', b: '' }),
      store.run(pair, [store.key('m')], { a: '4', b: 'z' }),
    ])
    expect(mixed).toEqual([
      ['1', '1', '1', '1'],
      ['3', '1', '2', 'y'],
      ['6', '1', '1', '3'],
      ['10', '1', '2', 'z'],
    ])
    expect(log.sizes()).toEqual([4, 4, 4]) // one script call for each group
  })

  it('splits a burst into script calls of at most 64 calls', async () => {
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b5', commandTimeoutMs: 5_000, batch: true })
    const replies = await Promise.all(
      Array.from({ length: 400 }, () => store.run(incr, [store.key('burst')], 1))
    )
    expect([...replies].sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1))
    const sizes = log.sizes()
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(400)
    // A third of the calls waiting, so growing with the burst, up to 64; the rest at the end.
    expect(Math.max(...sizes)).toBe(64)
    const growing = sizes.slice(0, -1)
    expect(growing).toEqual([...growing].sort((a, b) => a - b))
    expect(sizes.length).toBeLessThan(30)
  })

  it('a lone call is a plain EVALSHA of the op itself', async () => {
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b2', commandTimeoutMs: 5_000, batch: true })
    expect(await store.run(incr, [store.key('lone')], 3)).toBe(3)
    expect(log.shas()).toEqual([scriptSha(incr)])
  })

  it('an error reply or a runtime error rejects only its own call', async () => {
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b3', commandTimeoutMs: 5_000, batch: true })
    const results = await together(store, 4, () =>
      [1, -1, 0, 2].map((n) =>
        store.run(failIfNegative, [store.key(`x${n}`)], n).then(
          (value) => ({ status: 'fulfilled' as const, value }),
          (reason: unknown) => ({ status: 'rejected' as const, reason })
        )
      )
    )
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled'])
    expect((results[0] as PromiseFulfilledResult<number>).value).toBe(10)
    expect((results[3] as PromiseFulfilledResult<number>).value).toBe(20)
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/negative/)
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/wrong number|ERR/)
    expect(log.sizes()).toEqual([4]) // one script call, with two failing calls
  })

  it('integer-array replies come back exactly as the op script gives them one call at a time', async () => {
    // The batch answers such replies as one string (parsed back here); anything else as an array.
    const shapes = defineOp<number, unknown>({
      name: 'shapes',
      lua: `local n = tonumber(ARGV[1])
redis.call('INCR', KEYS[1])
if n == 0 then return {} end
if n == 1 then return {-7, 0, 2.9, -2.9, 1764190000123} end
if n == 2 then return {1, 2 ^ 52} end
if n == 3 then return {1, 'two'} end
if n == 4 then return {1, {2}} end
if n == 5 then return 42 end
return {n, n * 2}`,
      js: () => 0,
      encode: (n) => [String(n)],
      decode: (reply) => reply,
    })
    // The numbers are under test, not the timeout: the default 50 ms is too short for a new
    // client's first script on a loaded runner (it failed so in a full CI run).
    const batched = redisStore(server.client({ maxRetriesPerRequest: 1 }), {
      prefix: 'b8',
      commandTimeoutMs: 5_000,
    })
    const single = redisStore(server.client({ maxRetriesPerRequest: 1 }), {
      prefix: 'b8',
      commandTimeoutMs: 5_000,
      batch: false,
    })
    // Groups of 4, each as one script call (see `together`).
    const inputs = [
      [0, 1, 6, 7],
      [6, 0, 0, 7],
      [1, 2, 2, 6],
      [1, 3, 6, 3],
      [4, 1, 4, 6],
      [1, 5, 5, 6],
    ]
    for (const group of inputs) {
      const fromBatch = await together(batched, 4, () =>
        group.map((n) => batched.run(shapes, [batched.key('s')], n))
      )
      const oneByOne: unknown[] = []
      for (const n of group) oneByOne.push(await single.run(shapes, [single.key('s')], n))
      expect(fromBatch, `inputs ${group.join(',')}`).toEqual(oneByOne)
    }
    const numbers = await together(batched, 4, () =>
      [1, 6, 1, 6].map((n) => batched.run(shapes, [batched.key('s')], n))
    )
    expect(numbers).toEqual([
      [-7, 0, 2, -2, 1764190000123],
      [6, 12],
      [-7, 0, 2, -2, 1764190000123],
      [6, 12],
    ])
  })

  it('property: any numbers the script answers arrive as they do one call at a time', async () => {
    // The script returns its ARGV as Lua numbers: fractions, negatives, -0, huge values and
    // infinities (a nil from 'NaN' ends the array, as Redis does).
    const echo = defineOp<readonly number[], unknown>({
      name: 'echo',
      lua: 'local t = {} for i = 1, #ARGV do t[i] = tonumber(ARGV[i]) end return t',
      js: () => 0,
      encode: (values) => values.map(String),
      decode: (reply) => reply,
    })
    // The numbers are under test, not the timeout: the default 50 ms is too short for a new
    // client's first script on a loaded runner (it failed so in a full CI run).
    const batched = redisStore(server.client({ maxRetriesPerRequest: 1 }), {
      prefix: 'b10',
      commandTimeoutMs: 5_000,
    })
    const single = redisStore(server.client({ maxRetriesPerRequest: 1 }), {
      prefix: 'b10',
      commandTimeoutMs: 5_000,
      batch: false,
    })
    const value = fc.oneof(
      fc.integer({ min: -1_000_000, max: 1_000_000 }),
      fc.maxSafeInteger(),
      fc.double(),
      fc.constantFrom(
        2 ** 53,
        -(2 ** 53),
        2 ** 53 - 1,
        2 ** 52,
        2 ** 52 - 1,
        -(2 ** 52) + 1,
        -0,
        0.5,
        -0.5,
        1e300
      )
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(value, { maxLength: 6 }), { minLength: 4, maxLength: 4 }),
        async (calls) => {
          const fromBatch = await together(batched, 4, () =>
            calls.map((v) => batched.run(echo, [batched.key('e')], v))
          )
          const oneByOne: unknown[] = []
          for (const v of calls) oneByOne.push(await single.run(echo, [single.key('e')], v))
          expect(fromBatch).toEqual(oneByOne)
        }
      ),
      { numRuns: 150 }
    )
  }, 60_000) // 150 runs of several round trips each: many seconds on a loaded runner

  it("an op's batchLua runs first: it answers the whole batch, or falls through", async () => {
    const doubled = defineOp<number, unknown>({
      name: 'doubled',
      lua: 'return {tonumber(ARGV[1]) * 2}',
      // Shared ARGV: answers every call from the fast path, tagged 1000 + 2n, to tell it apart.
      batchLua: `if ARGV[4] == '1' then
  local out = {}
  for c = 1, tonumber(ARGV[1]) do out[c] = string.format('%d', 1000 + 2 * tonumber(ARGV[5])) end
  return table.concat(out, ';')
end`,
      js: () => 0,
      encode: (n) => [String(n)],
      decode: (reply) => reply,
    })
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b9', commandTimeoutMs: 5_000 })
    expect(
      await together(store, 4, () =>
        [3, 3, 3, 3].map((n) => store.run(doubled, [store.key('a')], n))
      )
    ).toEqual([[1006], [1006], [1006], [1006]])
    expect(
      await together(store, 4, () =>
        [1, 2, 3, 4].map((n) => store.run(doubled, [store.key('a')], n))
      )
    ).toEqual([[2], [4], [6], [8]])
    expect(log.sizes()).toEqual([4, 4])
    expect(await store.run(doubled, [store.key('a')], 5)).toEqual([10]) // a lone call: the op's own script
  })

  it('a call answering more integers than the compact reply holds gets them all, batched as alone', async () => {
    // The compact reply passes a call's values through Lua's stack (8000 slots): a longer reply
    // makes the batch answer as an array instead.
    const range = defineOp<number, unknown>({
      name: 'range',
      lua: 'local out = {} for i = 1, tonumber(ARGV[1]) do out[i] = i end return out',
      js: () => 0,
      encode: (n) => [String(n)],
      decode: (reply) => reply,
    })
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b11', commandTimeoutMs: 5_000 })
    const lengths = [9_000, 3, 4_097, 4_096]
    const alone = await store.run(range, [store.key('r')], 9_000)
    expect(alone).toEqual(Array.from({ length: 9_000 }, (_, i) => i + 1))
    log.clear()
    const replies = await together(store, 4, () =>
      lengths.map((n) => store.run(range, [store.key('r')], n))
    )
    expect(replies).toEqual(lengths.map((n) => Array.from({ length: n }, (_, i) => i + 1)))
    expect(log.sizes()).toEqual([4]) // still one script call
  })

  it('a call with more keys and arguments than a batched call may have goes alone, in order', async () => {
    // The wrapper copies a call's KEYS and ARGV through Lua's stack (8000 slots): a call with more
    // than MAX_BATCHED_ARGS of them is sent as a plain EVALSHA of its op, after the calls of the
    // same op queued before it.
    const push = defineOp<{ tag: string; args: number }, number>({
      name: 'push',
      lua: "redis.call('RPUSH', KEYS[1], ARGV[1]) return #KEYS * 100000 + #ARGV",
      js: () => 0,
      encode: ({ tag, args }) => [tag, ...Array.from({ length: args - 1 }, () => 'x')],
      decode: (reply) => reply as number,
    })
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b12', commandTimeoutMs: 5_000 })
    const list = store.key('order')
    const keys = (n: number) => Array.from({ length: n }, () => list)
    const calls: [string, number, number][] = [
      ['a', 1, 1],
      ['b', 1, 9_000],
      ['c', 9_000, 1],
      ['d', 1, MAX_BATCHED_ARGS - 1], // exactly MAX_BATCHED_ARGS: batched
      ['e', 2, 1],
    ]
    const replies = await together(store, calls.length, () =>
      calls.map(([tag, k, args]) => store.run(push, keys(k), { tag, args }))
    )
    expect(replies).toEqual(calls.map(([, k, args]) => k * 100_000 + args))
    expect(await log.client.lrange(list, 0, -1)).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(log.sizes()).toEqual([1, 1, 9_000, 3]) // d and e: one script call
    expect(log.shas().slice(0, 3)).toEqual(Array(3).fill(scriptSha(push)))
  })

  it('an op whose script starts with a #!lua flags line is batched under those flags', async () => {
    const readOnly = defineOp<void, unknown>({
      name: 'readOnly',
      lua: "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])",
      js: () => null,
      encode: () => [],
      decode: (reply) => reply,
    })
    const writesAnyway = defineOp<void, unknown>({
      name: 'writesAnyway',
      lua: "#!lua flags=no-writes\nreturn redis.call('SET', KEYS[1], 'w')",
      js: () => null,
      encode: () => [],
      decode: (reply) => reply,
    })
    const clockRead = defineOp<void, unknown>({
      name: 'clockRead',
      lua: `#!lua flags=no-writes\n${LUA_NOW_MS}return {nowMs}`,
      js: () => null,
      encode: () => [],
      decode: (reply) => reply,
    })
    const log = await recordingClient()
    const store = redisStore(log.client, { prefix: 'b13', commandTimeoutMs: 5_000 })
    const key = store.key('flags')
    await store.set(key, 'v')
    expect(await store.run(readOnly, [key], undefined)).toBe('v')
    log.clear()
    const read = () => store.run(readOnly, [key], undefined)
    expect(await together(store, 4, () => [read(), read(), read(), read()])).toEqual(
      Array(4).fill('v')
    )
    expect(log.sizes()).toEqual([4])
    // no-writes holds for the batch as for one call: a write is refused, to each call.
    const other = store.key('flags-w')
    const write = () => store.run(writesAnyway, [other], undefined).then(String, String)
    const refused = /Write commands are not allowed from read-only scripts/
    expect(await write()).toMatch(refused)
    const writes = await together(store, 4, () => [write(), write(), write(), write()])
    for (const outcome of writes) expect(outcome).toMatch(refused)
    expect(await store.get(other)).toBeUndefined()
    // A script reading the server clock (LUA_NOW_MS) after its flags line.
    const clock = () => store.run(clockRead, [key], undefined) as Promise<[number]>
    const times = await together(store, 4, () => [clock(), clock(), clock(), clock()])
    for (const [ms] of times) expect(Math.abs(ms - Date.now())).toBeLessThan(10_000)
    expect(log.sizes()).toEqual([4, 1, 4, 4])
  })

  it('on by default; batch: false sends one EVALSHA per call; a bad value is refused', async () => {
    const log = await recordingClient()
    const byDefault = redisStore(log.client, { prefix: 'b4', commandTimeoutMs: 5_000 })
    await together(byDefault, 4, () =>
      [1, 2, 3, 4].map((n) => byDefault.run(incr, [byDefault.key('d')], n))
    )
    expect(log.sizes()).toEqual([4])
    log.clear()
    const unbatched = redisStore(log.client, {
      prefix: 'b4',
      commandTimeoutMs: 5_000,
      batch: false,
    })
    await Promise.all([1, 2, 3].map((n) => unbatched.run(incr, [unbatched.key('x')], n)))
    expect(log.sizes()).toEqual([1, 1, 1])
    expect(() => redisStore(log.client, { batch: 'yes' as never })).toThrow(
      expect.objectContaining({ field: 'batch' })
    )
  })
})
