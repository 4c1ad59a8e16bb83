/**
 * Three cache instances (each with its own connections, one prefix, one bus channel) on one real
 * redis-server, calling `getOrSet` on one key at once. Guaranteed:
 * - 3 × 20 concurrent misses make one fetch; after a tag invalidation made on one instance, no
 *   instance serves the old value and 3 × 20 concurrent calls are all answered by one refill;
 * - a lock holder whose fetcher throws does not leave the other instances waiting for its lock to
 *   lapse: they fetch themselves, at most once each;
 * - a lock holder whose fetch outlives `lockTtl` (an LLM answer) renews its lock: the others wait
 *   for its value, no second fetch; one that lost the store stops renewing, and its lock lapses;
 * - a lock holder whose fetch never ends costs exactly one more fetch across the other instances,
 *   made once its renewed lock has lapsed at `lockMaxHold` (not before).
 * (Set, delete and invalidation dropping the other instances' memory copies: redis-tier.test.ts;
 * single flight across two processes: cross-process.test.ts.) Waits for another instance are
 * polls with a generous deadline; locks meant to outlive a fetch live a minute or more, so a busy
 * runner's stalls cannot let a second fill in.
 */
import { type Cache, type CacheOptions, createCache } from '@aikit/cache'
import type { Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let server: RedisServer
let raw: Redis
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  server = await startRedis()
  raw = server.client()
  await whenReady(raw)
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it holds; fails after 10 s (a loaded machine delivers late). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** `promise`, or a rejection naming `what` if it has not settled after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

interface Instance {
  cache: Cache
  /** How many times the store answered this instance that another one holds a fill lock. */
  waits(): number
  /** Cuts this instance's Redis connection (store and bus) for good. */
  disconnect(): void
}

/** `store`, counting its `wait` answers to the read-or-lock op. */
function countingWaits(store: Store): { store: Store; waits: () => number } {
  let waits = 0
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'run') {
        return async (...args: Parameters<Store['run']>) => {
          const out = await target.run(...args)
          if (args[0].name === 'cache.readOrLock' && (out as { kind?: string }).kind === 'wait') {
            waits++
          }
          return out
        }
      }
      const v = Reflect.get(target, prop, receiver)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { store: proxy, waits: () => waits }
}

/** Three instances on channel `tag`; `options[i]` for instance i. Resolves once all subscribed. */
async function instances(tag: string, options: Partial<CacheOptions>[] = []): Promise<Instance[]> {
  const prefix = `c${tag}${runId}`
  const channel = `c-${tag}-${runId}`
  const out: Instance[] = []
  for (let i = 0; i < 3; i++) {
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    const { store, waits } = countingWaits(redisStore(client, { prefix, commandTimeoutMs: 5_000 }))
    const cache = createCache({
      store,
      namespace: 'app',
      bus: { client, channel },
      ...options[i],
    })
    out.push({ cache, waits, disconnect: () => client.disconnect() })
  }
  // Each bus subscribes on a connection of its own: Redis counts them once they have landed.
  await until('the SUBSCRIBEs', async () => {
    const [, count] = (await raw.pubsub('NUMSUB', channel)) as [string, number]
    return Number(count) >= 3
  })
  return out
}

describe('three cache instances on one redis-server', () => {
  it('3 x 20 concurrent misses make one fetch; after a tag invalidation, one refill answers all', async () => {
    const cs = (await instances('a', Array(3).fill({ lockTtl: 60_000 }))).map((i) => i.cache)
    let fetches = 0
    // Each fetch answers with its own number: a caller's value names the fetch that answered it.
    const fetcher = async () => {
      const n = ++fetches
      await sleep(100)
      return `v${n}`
    }
    const stampede = () =>
      Promise.all(
        Array.from({ length: 60 }, (_, i) => cs[i % 3]!.getOrSet('k', fetcher, { tags: ['t'] }))
      )
    expect(new Set(await stampede())).toEqual(new Set(['v1']))
    expect(fetches).toBe(1)
    // A probe entry in each instance's own memory tier, tagged too: it goes only when that
    // instance handles the invalidation's bus message (a copy of `k` may have gone earlier, on the
    // fill's message), so the refill below starts after every instance knows of the invalidation.
    await Promise.all(cs.map((c, i) => c.set(`probe${i}`, i, { tags: ['t'] })))
    for (const [i, c] of cs.entries()) expect(c.peek(`probe${i}`)).toBe(i)
    // Well apart: each instance stamps on its own estimate of Redis's clock, and two estimates can
    // disagree by a measurement's round trip (long on a loaded runner): a probe stamped after the
    // invalidation would stay.
    await sleep(500)
    await cs[1]!.invalidateTags(['t'])
    await until('the invalidation on every instance', () =>
      cs.every((c, i) => c.peek(`probe${i}`) === undefined && c.peek('k') === undefined)
    )
    for (const c of cs) expect(await c.get('k')).toBeUndefined()
    // Every caller is answered by the one refill: none gets the old value, none a second fetch's.
    // (How many fetches ran is not asserted: an instance whose estimate of Redis's clock runs
    // ahead of the filler's, as a loaded runner's slow round trips make it, can take the refill
    // for an entry made before the invalidation and refresh it once more in the background.)
    expect(new Set(await stampede())).toEqual(new Set(['v2']))
    await Promise.all(cs.map((c) => c.close()))
  }, 30_000)

  it('a lock holder whose fetcher throws: the others fetch themselves, not after its lock lapses', async () => {
    // The holder's lock would keep the others waiting 2 minutes, far past this test's timeout.
    const is = await instances('b', Array(3).fill({ lockTtl: 120_000 }))
    const cs = is.map((i) => i.cache)
    let fetches = 0
    const holding = signal()
    const fail = signal()
    const r0 = cs[0]!.getOrSet('e', async () => {
      fetches++
      holding.resolve()
      await fail.promise
      throw new Error('boom')
    })
    r0.catch(() => undefined)
    await holding.promise
    const rest = Promise.allSettled(
      [1, 2].map((i) =>
        cs[i]!.getOrSet('e', async () => {
          fetches++
          return 'ok'
        })
      )
    )
    // Both others have found the lock held: they are waiting on it when the holder fails.
    await until('both others to wait on the lock', () => is[1]!.waits() > 0 && is[2]!.waits() > 0)
    fail.resolve()
    await expect(r0).rejects.toThrow('boom')
    const rs = await within(20_000, 'the others still wait on the failed holder', rest)
    expect(rs.map((r) => (r.status === 'fulfilled' ? r.value : r.reason))).toEqual(['ok', 'ok'])
    // One holder's failure, then each other instance's fetch at most (one may serve the other).
    expect(fetches).toBeGreaterThanOrEqual(2)
    expect(fetches).toBeLessThanOrEqual(3)
    await Promise.all(cs.map((c) => c.close()))
  }, 30_000)

  it('a lock holder whose fetch never ends: one more fetch across the others, once its lock lapsed', async () => {
    // Only the hung holder's hold is short; the refill's lock outlives any stall of the runner.
    // Its lock is renewed every 500 ms up to HUNG_HOLD (a stall of a second would let it lapse).
    const HUNG_HOLD = 4_000
    const cs = (
      await instances('c', [
        { lockTtl: 1_500, lockMaxHold: HUNG_HOLD },
        { lockTtl: 60_000 },
        { lockTtl: 60_000 },
      ])
    ).map((i) => i.cache)
    let fetches = 0
    const holding = signal()
    const calledAt = Date.now()
    const hung = cs[0]!.getOrSet(
      'd',
      () =>
        new Promise<string>(() => {
          fetches++
          holding.resolve()
        })
    )
    hung.catch(() => undefined)
    await holding.promise
    let refetchedAt = 0
    const vals = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        cs[1 + (i % 2)]!.getOrSet('d', async () => {
          fetches++
          refetchedAt ||= Date.now()
          await sleep(50)
          return 'fresh'
        })
      )
    )
    expect(new Set(vals)).toEqual(new Set(['fresh']))
    expect(fetches).toBe(2)
    // The lock was taken after `calledAt` and renewed to end HUNG_HOLD after its fetch started,
    // on the same machine's clock: the refill cannot have started earlier, however slow the
    // runner (a few ms of slack for rounding).
    expect(refetchedAt - calledAt).toBeGreaterThanOrEqual(HUNG_HOLD - 5)
    await Promise.all(cs.slice(1).map((c) => c.close()))
    // Its fetch never ends: do not wait on it.
    await Promise.race([cs[0]!.close(), sleep(2_000)])
  }, 30_000)

  it('a fetch that outlives lockTtl keeps its lock: the other instances wait for its value', async () => {
    // A 4 s answer under a 1.5 s lock (renewed every 500 ms: a stall of a second would let it
    // lapse): without renewal the waiters would take the lapsed lock and fetch again after 1.5 s.
    const is = await instances('e', [{ lockTtl: 1_500 }, { lockTtl: 1_500 }, { lockTtl: 1_500 }])
    const cs = is.map((i) => i.cache)
    let fetches = 0
    const holding = signal()
    const first = cs[0]!.getOrSet('llm', async () => {
      fetches++
      holding.resolve()
      await sleep(4_000)
      return 'answer-1'
    })
    await holding.promise
    const others = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        cs[1 + (i % 2)]!.getOrSet('llm', async () => {
          fetches++
          return 'answer-2'
        })
      )
    )
    expect(await first).toBe('answer-1')
    expect(new Set(others)).toEqual(new Set(['answer-1']))
    expect(fetches).toBe(1)
    // They waited on the lock (polls), not on a value already there.
    expect(is[1]!.waits() + is[2]!.waits()).toBeGreaterThan(0)
    await Promise.all(cs.map((c) => c.close()))
  }, 30_000)

  it('a holder that lost the store stops renewing: its lock lapses after lockTtl and another fills', async () => {
    const LOCK = 3_000
    const is = await instances('f', [{ lockTtl: LOCK }, { lockTtl: 60_000 }, { lockTtl: 60_000 }])
    const cs = is.map((i) => i.cache)
    let fetches = 0
    const holding = signal()
    const release = signal()
    const cut = cs[0]!.getOrSet('k', async () => {
      fetches++
      holding.resolve()
      await release.promise
      return 'from-cut-off'
    })
    await holding.promise
    const cutAt = Date.now()
    // The holder's own connection is gone: no renewal reaches Redis from here on.
    is[0]!.disconnect()
    const refilled = await within(
      20_000,
      'the refill',
      cs[1]!.getOrSet('k', async () => {
        fetches++
        return 'refilled'
      })
    )
    expect(refilled).toBe('refilled')
    expect(fetches).toBe(2)
    // Not at once: the lock it renewed every LOCK / 3 lived on after the cut until it lapsed
    // (at least LOCK / 3 later, even if the runner delayed its last renewals by a second).
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(LOCK / 3)
    release.resolve()
    expect(await cut).toBe('from-cut-off')
    await Promise.all(cs.slice(1).map((c) => c.close()))
    await Promise.race([cs[0]!.close(), sleep(2_000)])
  }, 30_000)
})
