/**
 * redisStore's script calls on a plain ioredis client skip ioredis' per-command `args.flat()` (the
 * EVALSHA is built from an empty list, then given its arguments) and still send the same command:
 * same replies, error replies and NOSCRIPT reloads. Clients whose `evalsha` is not ioredis' own, or
 * with an option that method reads (a key prefix, auto-pipelining, friendly error stacks), go
 * through `client.evalsha` as before.
 */
import { defineOp, type Store } from '@aikit/core'
import { redisStore, scriptSha } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const incrby = defineOp<number, number>({
  name: 'evalshaIncrby',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0] as string, Number(argv[0])),
  encode: (n) => [String(n)],
  decode: (reply) => reply as number,
})

const failing = defineOp<string, never>({
  name: 'evalshaFailing',
  lua: 'return redis.error_reply(ARGV[1])',
  js: (_data, _keys, argv) => ({ err: argv[0] as string }),
  encode: (message) => [message],
  decode: (reply) => reply as never,
})

let server: RedisServer
let cluster: RedisClusterHandle
const clients: (Redis | Cluster)[] = []
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedis(), startRedisCluster()])
})
afterAll(async () => {
  for (const client of clients) client.disconnect()
  await Promise.all([server?.stop(), cluster?.stop()])
})

async function client(options: Omit<RedisOptions, 'replyMapping'> = {}): Promise<Redis> {
  const c = server.client({ maxRetriesPerRequest: 1, ...options })
  clients.push(c)
  await whenReady(c)
  return c
}

/**
 * Runs `fn` counting the `Array.prototype.flat` calls made on an argument list holding `sha` (the
 * EVALSHA's arguments, which ioredis' Command constructor flattens).
 */
async function flatsOfScriptCalls<T>(sha: string, fn: () => Promise<T>): Promise<[T, number]> {
  const flat = Array.prototype.flat
  let count = 0
  Array.prototype.flat = function (this: unknown[], ...args: unknown[]) {
    if (this.includes(sha)) count++
    return flat.apply(this, args as [])
  } as typeof flat
  try {
    return [await fn(), count]
  } finally {
    Array.prototype.flat = flat
  }
}

/** A store whose first script call is made and answered (ioredis is loaded on the first one). */
async function warmStore(c: Redis | Cluster, prefix: string): Promise<Store> {
  const store = redisStore(c, { prefix, commandTimeoutMs: 5_000, batch: false })
  await store.run(incrby, [store.key('warm')], 1)
  return store
}

describe('script calls on a plain ioredis client', () => {
  it('are sent without flattening their arguments, with the same replies', async () => {
    const c = await client()
    const store = await warmStore(c, 'e1')
    const [replies, flats] = await flatsOfScriptCalls(scriptSha(incrby), () =>
      Promise.all([1, 2, 3].map((n) => store.run(incrby, [store.key('k')], n)))
    )
    expect(flats).toBe(0)
    expect(replies).toEqual([1, 3, 6])
    expect(await c.get('e1:{k}')).toBe('6')
  })

  it('keep error replies per call and reload the script on NOSCRIPT', async () => {
    const c = await client()
    const store = await warmStore(c, 'e2')
    await expect(store.run(failing, [store.key('f')], 'ERR planted failure')).rejects.toThrow(
      'ERR planted failure'
    )
    await c.script('FLUSH')
    const [reply, flats] = await flatsOfScriptCalls(scriptSha(incrby), () =>
      store.run(incrby, [store.key('n')], 5)
    )
    expect(reply).toBe(5)
    expect(flats).toBe(0)
    expect(await c.script('EXISTS', scriptSha(incrby))).toEqual([1])
  })

  it('go through the client evalsha when it is patched or an option it reads is set', async () => {
    const patched = await client()
    const calls: unknown[][] = []
    const own = patched.evalsha.bind(patched)
    Object.assign(patched, {
      evalsha: (...args: Parameters<typeof own>) => {
        calls.push(args)
        return own(...args)
      },
    })
    const store = await warmStore(patched, 'e3')
    expect(await store.run(incrby, [store.key('p')], 7)).toBe(7)
    expect(calls.at(-1)).toEqual([scriptSha(incrby), 1, 'e3:{p}', '7'])

    const prefixed = await client({ keyPrefix: 'app:' })
    const prefixedStore = await warmStore(prefixed, 'e4')
    const [reply, flats] = await flatsOfScriptCalls(scriptSha(incrby), () =>
      prefixedStore.run(incrby, [prefixedStore.key('q')], 2)
    )
    expect(reply).toBe(2)
    expect(flats).toBe(1) // ioredis' own path, which applies the key prefix
    const plain = await client()
    expect(await plain.get('app:e4:{q}')).toBe('2')

    const pipelined = await client({ enableAutoPipelining: true })
    const pipelinedStore = await warmStore(pipelined, 'e5')
    expect(
      await Promise.all([1, 2].map((n) => pipelinedStore.run(incrby, [pipelinedStore.key('r')], n)))
    ).toEqual([1, 3])
  })

  it('on a Redis Cluster too, each call on the node of its slot', async () => {
    const c = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
    clients.push(c)
    await whenReady(c)
    const store = await warmStore(c, 'e6')
    const tags = Array.from({ length: 12 }, (_, i) => `tag${i}`)
    const [replies, flats] = await flatsOfScriptCalls(scriptSha(incrby), () =>
      Promise.all(tags.map((tag, i) => store.run(incrby, [store.key(tag, 'n')], i + 1)))
    )
    expect(flats).toBe(0)
    expect(replies).toEqual(tags.map((_, i) => i + 1))
    expect(await Promise.all(tags.map((tag) => c.get(`e6:{${tag}}:n`)))).toEqual(
      tags.map((_, i) => String(i + 1))
    )
  })
})
