/**
 * Under a bundler, `import('ioredis')` may give a namespace holding only `default`: webpack (a
 * Next.js `proxy.ts` bundle that bundles ioredis) merges a CommonJS module's named exports into
 * the namespace only when `module.exports` is an object, and ioredis' `module.exports` is the
 * Redis class, which carries `Redis`, `Cluster` and `Command`. redisStore's lazy load of ioredis
 * (for its EVALSHA fast path) must read them there: it used to read `prototype` of the missing
 * `Redis`, which threw inside the promise chain (an unhandled rejection on the first script call,
 * which kills a Node process run with the default `--unhandled-rejections=throw`) and left every
 * later script call on the slow path.
 */
import type { Store } from '@aikit/core'
import { defineOp } from '@aikit/core'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'

const incrby = defineOp<number, number>({
  name: 'bundledIncrby',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0] as string, Number(argv[0])),
  encode: (n) => [String(n)],
  decode: (reply) => reply as number,
})

let server: RedisServer
let client: Redis
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}
beforeAll(async () => {
  server = await startRedis()
  client = server.client({ maxRetriesPerRequest: 1 })
  await whenReady(client)
  process.on('unhandledRejection', onUnhandled)
})
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await server?.stop()
})

it('a bundled ioredis (only `default` in its namespace) loads without an unhandled rejection and gets the fast path', async () => {
  // What webpack hands `import('ioredis')`: `{ default: module.exports }`, no named exports (the
  // names are listed as undefined only because vitest's mock throws on reading a missing export).
  vi.doMock('ioredis', async (importOriginal) => {
    const real = await importOriginal<{ default: unknown }>()
    return { default: real.default, Redis: undefined, Cluster: undefined, Command: undefined }
  })
  // Loaded after the mock (no static import above), so its lazy `import('ioredis')` sees it.
  const { redisStore, scriptSha } = await import('@aikit/core/redis')
  const store: Store = redisStore(client, {
    prefix: 'bundled',
    commandTimeoutMs: 5_000,
    batch: false,
  })
  expect(await store.run(incrby, [store.key('k')], 1)).toBe(1) // loads ioredis
  await new Promise((resolve) => setTimeout(resolve, 50)) // a rejection would be reported by now
  expect(unhandled).toEqual([])

  const sha = scriptSha(incrby)
  const flat = Array.prototype.flat
  let total = 1
  /** `args.flat()` calls one run makes (0 on the fast path); each run's answer checked. */
  const flatsOfOneRun = async (): Promise<number> => {
    let flats = 0
    Array.prototype.flat = function (this: unknown[], ...args: unknown[]) {
      if (this.includes(sha)) flats++
      return flat.apply(this, args as [])
    } as typeof flat
    try {
      total += 2
      expect(await store.run(incrby, [store.key('k')], 2)).toBe(total)
    } finally {
      Array.prototype.flat = flat
    }
    return flats
  }
  // The lazy import may take longer than the wait above on a loaded machine: the fast path is
  // taken once it has resolved.
  let flats = await flatsOfOneRun()
  for (let i = 0; i < 50 && flats !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    flats = await flatsOfOneRun()
  }
  expect(flats).toBe(0) // ioredis' Command built without `args.flat()`: the fast path
})
