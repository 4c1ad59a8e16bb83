/**
 * `onStoreError`: what `check` does when the store is unavailable. Outages are real: a
 * redis-server is killed mid-sequence (and restarted for recovery).
 */
import {
  InvalidOptionsError,
  memoryStore,
  type Store,
  type StoreEventInfo,
  StoreTimeoutError,
  StoreUnavailableError,
} from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type CheckResult,
  createRateLimiter,
  type RateLimiterOptions,
  type StoreErrorPolicy,
} from '@aikit/ratelimit'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterEach, describe, expect, it, vi } from 'vitest'

const LIMITS: RateLimiterOptions['limits'] = [{ limit: 3, window: '1m' }]
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let server: RedisServer | undefined

afterEach(async () => {
  await server?.stop()
  server = undefined
})

async function setup(onStoreError?: StoreErrorPolicy) {
  server = await startRedis()
  const client = server.client({ maxRetriesPerRequest: 1, enableOfflineQueue: false })
  // Without an offline queue, commands sent before the connection is ready fail at once.
  await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000, interval: 20 })
  // With Redis killed, commands fail at once (no offline queue): no short timeout is needed, and
  // one of 50 ms failed the first check (a script load) on a loaded machine.
  const store = redisStore(client, {
    commandTimeoutMs: 2_000,
    breaker: { failureThreshold: 2, openMs: 200 },
  })
  const limiter = createRateLimiter({
    store,
    limits: LIMITS,
    ...(onStoreError ? { onStoreError } : {}),
  })
  return { server, client, store, limiter }
}

function isStoreError(error: unknown): boolean {
  return error instanceof StoreUnavailableError || error instanceof StoreTimeoutError
}

/** A store whose `run` always rejects with `error` (other methods from a memory store). */
function failingStore(error: unknown): Store {
  const base = memoryStore()
  return {
    kind: base.kind,
    local: base.local,
    get: (key) => base.get(key),
    set: (key, value, options) => base.set(key, value, options),
    delete: (key) => base.delete(key),
    run: () => Promise.reject(error),
    key: (tag, ...parts) => base.key(tag, ...parts),
    on: (event, listener) => base.on(event, listener),
    close: () => base.close(),
  }
}

describe("onStoreError: 'memory' (default)", () => {
  it('falls back to a local memory store while Redis is down and returns to Redis after a restart', async () => {
    const { server, client, store, limiter } = await setup()
    const degradedEvents: StoreEventInfo[] = []
    const recoveredEvents: StoreEventInfo[] = []
    limiter.on('degraded', (info) => degradedEvents.push(info))
    limiter.on('recovered', (info) => recoveredEvents.push(info))

    const first = await limiter.check('u')
    expect(first).toMatchObject({ allowed: true, remaining: 2 })
    expect(first.degraded).toBeUndefined()
    expect(first.reason).toBeUndefined()

    await server.kill()
    // The local fallback starts empty: 3 allowed, the 4th denied, all degraded, none throws.
    const local: CheckResult[] = []
    for (let i = 0; i < 4; i++) local.push(await limiter.check('u'))
    expect(local.map((r) => r.allowed)).toEqual([true, true, true, false])
    for (const r of local) expect(r).toMatchObject({ degraded: true, reason: 'store-error' })
    expect(local[3]?.retryAfterMs).toBeGreaterThan(0)
    expect(store.breakerState).not.toBe('closed')
    expect(degradedEvents).toHaveLength(1)
    expect(degradedEvents[0]).toMatchObject({ store: 'redis', reason: 'failures' })

    await server.restart()
    // Every check tries Redis first: poll (bounded) until a result comes from Redis again.
    let result: CheckResult | undefined
    for (let i = 0; i < 100; i++) {
      result = await limiter.check('fresh', { cost: 0 })
      if (result.degraded === undefined) break
      await sleep(100)
    }
    expect(result?.degraded).toBeUndefined()
    expect(store.breakerState).toBe('closed')
    expect(recoveredEvents).toHaveLength(1)

    // Redis lost its state in the kill (no persistence): the key starts fresh there.
    const back = await limiter.check('u')
    expect(back).toMatchObject({ allowed: true, remaining: 2 })
    expect(back.degraded).toBeUndefined()
    expect(back.reason).toBeUndefined()
    expect(await client.exists(store.key('u', `rl:gcra:3:60000`))).toBe(1)
  })

  it('answers from the fallback on a StoreTimeoutError too', async () => {
    const limiter = createRateLimiter({
      store: failingStore(new StoreTimeoutError(50)),
      limits: LIMITS,
    })
    const results: CheckResult[] = []
    for (let i = 0; i < 4; i++) results.push(await limiter.check('k'))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
    expect(results.every((r) => r.degraded === true)).toBe(true)
  })
})

describe("onStoreError: 'open'", () => {
  it('allows with degraded: true while Redis is down', async () => {
    const { server, limiter } = await setup('open')
    expect((await limiter.check('u', { cost: 3 })).allowed).toBe(true)
    expect((await limiter.check('u')).allowed).toBe(false)

    await server.kill()
    // 'u' was denied with a known wait just before: the blocked-key cache keeps denying it
    // without asking the store. Any other key is let through by the 'open' policy.
    expect(await limiter.check('u')).toMatchObject({ allowed: false, cached: true })
    for (let i = 0; i < 5; i++) {
      const r = await limiter.check('v')
      expect(r).toMatchObject({
        allowed: true,
        remaining: 3,
        limit: 3,
        retryAfterMs: 0,
        degraded: true,
        reason: 'store-error',
      })
      expect(r.limits).toEqual([
        expect.objectContaining({ limit: 3, remaining: 3, retryAfterMs: 0 }),
      ])
    }
  })
})

describe("onStoreError: 'closed'", () => {
  it('rejects with the 503 store error, never a rate-limited result', async () => {
    const { server, limiter } = await setup('closed')
    expect((await limiter.check('u')).allowed).toBe(true)

    await server.kill()
    for (let i = 0; i < 5; i++) {
      const outcome = await limiter.check('u').then(
        (result) => ({ result }),
        (error: unknown) => ({ error })
      )
      expect(outcome).not.toHaveProperty('result')
      const error = (outcome as { error: unknown }).error
      expect(isStoreError(error)).toBe(true)
      expect(error).toMatchObject({
        status: 503,
        code: expect.stringMatching(/^STORE_(UNAVAILABLE|TIMEOUT)$/),
      })
    }
  })
})

/**
 * A memory store whose `delete` rejects with `error` for keys matching `failing` (else deletes),
 * and whose `run` rejects with `runError` when given.
 */
function failingDeletes(
  error: unknown,
  failing: (key: string) => boolean,
  runError?: unknown
): Store {
  const base = memoryStore()
  return {
    kind: base.kind,
    local: base.local,
    get: (key) => base.get(key),
    set: (key, value, options) => base.set(key, value, options),
    delete: (key) => (failing(key) ? Promise.reject(error) : base.delete(key)),
    run: (op, keys, input) =>
      runError === undefined ? base.run(op, keys, input) : Promise.reject(runError),
    key: (tag, ...parts) => base.key(tag, ...parts),
    on: (event, listener) => base.on(event, listener),
    close: () => base.close(),
  }
}

describe('unblock / reset while the store is down follow onStoreError', () => {
  const outcomeOf = (promise: Promise<void>) =>
    promise.then(
      () => 'ok',
      (e: unknown) => (e instanceof StoreUnavailableError ? 'StoreUnavailableError' : e)
    )

  it("'memory': unblock lifts a block that block() placed on the fallback", async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [{ limit: 10, window: '1m' }] })
    await store.close() // the store is now unavailable (StoreUnavailableError)
    await limiter.block('u', 60_000) // follows the policy: lands on the fallback
    expect(await limiter.check('u')).toMatchObject({
      allowed: false,
      blocked: true,
      degraded: true,
    })
    const before = limiter.stats().adjustFailures
    expect(await outcomeOf(limiter.unblock('u'))).toBe('ok')
    expect(limiter.stats().adjustFailures).toBe(before + 1)
    expect(await limiter.check('u')).toMatchObject({ allowed: true, degraded: true })
  })

  it("'memory': reset forgets units penalize() charged to the fallback", async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: [{ limit: 10, window: '1m' }] })
    await store.close()
    await limiter.penalize('u', 10)
    expect((await limiter.check('u')).allowed).toBe(false)
    expect(await outcomeOf(limiter.reset('u'))).toBe('ok')
    expect(await limiter.check('u')).toMatchObject({ allowed: true, degraded: true })
  })

  it("'open': unblock and reset resolve (counted)", async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: LIMITS, onStoreError: 'open' })
    await store.close()
    await limiter.block('u', 60_000) // skipped by the policy
    expect(await outcomeOf(limiter.unblock('u'))).toBe('ok')
    expect(await outcomeOf(limiter.reset('u'))).toBe('ok')
    expect(limiter.stats().adjustFailures).toBe(3)
  })

  it("'closed': unblock and reset reject with the store error", async () => {
    const store = memoryStore()
    const limiter = createRateLimiter({ store, limits: LIMITS, onStoreError: 'closed' })
    await store.close()
    expect(await outcomeOf(limiter.unblock('u'))).toBe('StoreUnavailableError')
    expect(await outcomeOf(limiter.reset('u'))).toBe('StoreUnavailableError')
    expect(limiter.stats().adjustFailures).toBe(0)
  })

  it.each(['memory', 'closed'] as const)(
    "%s: reset is one op on the store (all of the key's state or none), not a delete per key",
    async (policy) => {
      // The limit key's delete would fail: reset does not depend on deletes, so it cannot leave
      // the key half reset (its reset stamps written with its units kept, or the reverse).
      const store = failingDeletes(new StoreUnavailableError('down'), (k) => !k.endsWith(':block'))
      const limiter = createRateLimiter({ store, limits: LIMITS, onStoreError: policy })
      await limiter.penalize('u', 1_000)
      await limiter.block('u', 60_000)
      expect((await limiter.check('u')).blocked).toBe(true)
      expect(await outcomeOf(limiter.reset('u'))).toBe('ok')
      expect(await limiter.check('u')).toMatchObject({ allowed: true })
      expect(limiter.stats().adjustFailures).toBe(0)
    }
  )

  it('a non-availability error from the store is rethrown, after the fallback was cleared', async () => {
    const boom = new Error('boom')
    const down = new StoreUnavailableError('down')
    const limiter = createRateLimiter({
      store: failingDeletes(boom, () => true, down),
      limits: LIMITS,
    })
    await limiter.block('u', 60_000) // the store is down for ops: lands on the fallback
    expect((await limiter.check('u')).blocked).toBe(true)
    await expect(limiter.unblock('u')).rejects.toBe(boom)
    expect(await limiter.check('u')).toMatchObject({ allowed: true, degraded: true })
  })

  it("'memory' on a killed redis-server: a block set during the outage is lifted by unblock", async () => {
    const { server, limiter } = await setup()
    expect((await limiter.check('u')).allowed).toBe(true)
    await server.kill()
    await limiter.block('u', 60_000)
    expect(await limiter.check('u')).toMatchObject({
      allowed: false,
      blocked: true,
      degraded: true,
    })
    await limiter.unblock('u')
    expect(await limiter.check('u')).toMatchObject({ allowed: true, degraded: true })
    await limiter.penalize('u', 3)
    expect((await limiter.check('u')).allowed).toBe(false)
    await limiter.reset('u')
    expect(await limiter.check('u')).toMatchObject({ allowed: true, degraded: true })
  })
})

describe('non-availability store errors', () => {
  it.each(['memory', 'open', 'closed'] as const)('are rethrown under %s', async (policy) => {
    const boom = new Error('boom')
    const limiter = createRateLimiter({
      store: failingStore(boom),
      limits: LIMITS,
      onStoreError: policy,
    })
    await expect(limiter.check('k')).rejects.toBe(boom)
  })
})

describe('onStoreError validation', () => {
  it.each(['fallback', '', 1, true, 'MEMORY'])('rejects %j naming the field', (value) => {
    let error: unknown
    try {
      createRateLimiter({
        limits: LIMITS,
        onStoreError: value as unknown as StoreErrorPolicy,
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect(error).toMatchObject({ field: 'onStoreError' })
    expect((error as Error).message).toContain('onStoreError')
  })
})
