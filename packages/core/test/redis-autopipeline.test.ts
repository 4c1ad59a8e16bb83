/**
 * redisStore's automatic pipelining: ops issued in one tick go out as one pipeline and each gets
 * its own reply; NOSCRIPT inside a pipeline reloads the script; a lone op is a plain EVALSHA; a
 * script error rejects only its own op.
 */
import { defineOp } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const incr = defineOp<number, number>({
  name: 'incr',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0] as string, Number(argv[0])),
  encode: (n) => [String(n)],
  decode: (reply) => reply as number,
})

const failIfNegative = defineOp<number, number>({
  name: 'failIfNegative',
  lua: "if tonumber(ARGV[1]) < 0 then return redis.error_reply('ERR negative') end return 1",
  js: (_data, _keys, argv) => (Number(argv[0]) < 0 ? { err: 'ERR negative' } : 1),
  encode: (n) => [String(n)],
  decode: (reply) => reply as number,
})

let server: RedisServer
let client: Redis
beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
})
afterAll(async () => {
  await server?.stop()
})

/** Counts pipelines and plain EVALSHA calls made through `client`. */
function spy(target: Redis) {
  const counts = { pipelines: 0, piped: 0, evalsha: 0 }
  const pipeline = target.pipeline.bind(target)
  const evalsha = target.evalsha.bind(target)
  Object.assign(target, {
    pipeline: () => {
      counts.pipelines++
      const p = pipeline()
      const add = p.evalsha.bind(p)
      return Object.assign(p, {
        evalsha: (...args: Parameters<typeof add>) => {
          counts.piped++
          return add(...args)
        },
      })
    },
    evalsha: (...args: Parameters<typeof evalsha>) => {
      counts.evalsha++
      return evalsha(...args)
    },
  })
  return counts
}

describe('autoPipeline', () => {
  it('batches the ops of one tick, each with its own reply, NOSCRIPT included', async () => {
    const own = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(own)
    const counts = spy(own)
    const store = redisStore(own, { prefix: 'ap1', commandTimeoutMs: 5_000 })
    await client.script('FLUSH') // the first batch meets NOSCRIPT and must reload
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.run(incr, [store.key(`k${i % 4}`)], i + 1))
    )
    // k0 gets 1, 5, 9, 13, 17 in order: running sums 1, 6, 15, 28, 45
    expect(replies.filter((_, i) => i % 4 === 0)).toEqual([1, 6, 15, 28, 45])
    expect(counts).toMatchObject({ pipelines: 1, piped: 20, evalsha: 0 })
    expect(await store.run(incr, [store.key('lone')], 1)).toBe(1)
    expect(counts.evalsha).toBe(1)
  })

  it('a script error rejects only its own op', async () => {
    const store = redisStore(client, { prefix: 'ap2', commandTimeoutMs: 5_000 })
    const results = await Promise.allSettled([
      store.run(failIfNegative, [store.key('a')], 1),
      store.run(failIfNegative, [store.key('b')], -1),
      store.run(failIfNegative, [store.key('c')], 2),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/negative/)
  })

  it('autoPipeline: false sends one EVALSHA per op; bad values are refused', async () => {
    const own = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(own)
    const counts = spy(own)
    const store = redisStore(own, { prefix: 'ap3', autoPipeline: false })
    await Promise.all([1, 2, 3].map((n) => store.run(incr, [store.key('x')], n)))
    expect(counts).toMatchObject({ pipelines: 0, evalsha: 3 })
    expect(() => redisStore(own, { autoPipeline: 'yes' as never })).toThrow(
      expect.objectContaining({ field: 'autoPipeline' })
    )
  })
})
