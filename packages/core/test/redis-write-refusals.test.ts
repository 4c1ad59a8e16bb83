/**
 * redisStore when Redis refuses writes (OOM, READONLY, NOREPLICAS, MISCONF) but still answers
 * reads: reads that succeed say nothing about writes, so they neither close the circuit nor hide
 * the outage from the breaker.
 */
import { defineOp, type StoreEventInfo, StoreTimeoutError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'

const incr = defineOp({
  name: 'incr',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0]!, Number(argv[0])),
  encode: (n: number) => [String(n)],
  decode: (reply) => reply as number,
})

/** A script that only reads (as the cache's read-or-lock does when the entry is there). */
const peek = defineOp({
  name: 'peek',
  lua: "return redis.call('GET', KEYS[1])",
  js: (data, keys) => data.get(keys[0]!),
  encode: (_: null) => [],
  decode: (reply) => (reply as string | null) ?? undefined,
})

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Fills the server's memory limit so every write is refused with OOM; returns the undo. */
async function refuseWrites(): Promise<() => Promise<void>> {
  const admin = server.client()
  await admin.config('SET', 'maxmemory-policy', 'noeviction')
  await admin.config('SET', 'maxmemory', '1')
  return async () => {
    await admin.config('SET', 'maxmemory', '0')
    admin.disconnect()
  }
}

async function untilHalfOpen(store: { breakerState: string }): Promise<void> {
  for (let i = 0; i < 100 && store.breakerState !== 'half-open'; i++) await sleep(50)
  expect(store.breakerState).toBe('half-open')
}

// Before the fix, any successful command closed the circuit: a cache read as the half-open probe
// fired `recovered` while every write still failed, and degraded / recovered alternated every
// `openMs` for the whole outage (the aikit_store_degraded gauge read 0 most of the time).
it('does not report recovered while Redis still refuses every write (OOM), and does once writes work', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, { commandTimeoutMs: 2000 })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const counter = store.key('oom', 'n')
  await store.set(store.key('oom', 'page'), 'cached page')
  await store.run(incr, [counter], 1)
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 5; i++) {
      await expect(store.run(incr, [counter], 1)).rejects.toThrow(/OOM/)
    }
    expect(events).toEqual(['degraded'])
    await untilHalfOpen(store)
    // The call admitted as the half-open probe is a read (a cache lookup), which OOM does not
    // refuse: the store probes with a write of its own first, which OOM does refuse.
    await expect(store.get(store.key('oom', 'page'))).rejects.toThrow(/OOM/)
    expect(store.breakerState).toBe('open')
    await expect(store.run(incr, [counter], 1)).rejects.toThrow()
    expect(events).toEqual(['degraded'])
  } finally {
    await undo()
  }
  // Writes are taken again: the next probe, a script, closes the circuit, once.
  await untilHalfOpen(store)
  expect(await store.run(incr, [counter], 1)).toBe(2)
  expect(events).toEqual(['degraded', 'recovered probe-succeeded'])
  client.disconnect()
})

// Before the fix, each successful read reset the failure count: with reads between the refused
// writes (a cache in front of a rate limiter on one store) the circuit never opened.
it('opens the circuit on refused writes even when reads succeed between them', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, { commandTimeoutMs: 2000 })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  const counter = store.key('oom2', 'n')
  const page = store.key('oom2', 'page')
  await store.set(page, 'cached page')
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 5; i++) {
      await expect(store.run(incr, [counter], 1)).rejects.toThrow(/OOM/)
      // The fifth refusal opens the circuit: reads then fail fast too.
      if (i < 4) expect(await store.get(page)).toBe('cached page')
    }
    expect(events).toEqual(['degraded'])
  } finally {
    await undo()
  }
  client.disconnect()
})

// Found by a re-hunt of the first fix; as it was then: `refusingWrites` (store.ts): the flag is "cleared by a write or script that
// succeeds"; the store stays degraded "for as long as writes are refused". Redis-wise writes are
// refused only as long as the OOM lasts. But once the circuit is open, a write can only clear the
// flag if it is the half-open probe itself: every other call is refused by `admit()`. An app whose
// requests read before they write (cache.get then cache.set; a GET-then-SET session store; the
// TIME clock) always makes the read the probe: `succeeded(true, false)` (store.ts ~line 123)
// re-opens the circuit with READS_ONLY, the write behind it is refused fast, and this repeats
// every `openMs` forever although Redis took writes again long ago.
it('recovers once Redis takes writes again, when each request reads before it writes', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, {
    commandTimeoutMs: 2000,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const page = store.key('rf1', 'page')
  await store.set(page, 'v0')
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 3; i++) await expect(store.set(page, 'v1')).rejects.toThrow(/OOM/)
    expect(events).toEqual(['degraded'])
  } finally {
    await undo()
  }
  // Redis takes writes again. Ten requests, each a read then a write, each after `openMs`.
  for (let i = 0; i < 10 && store.breakerState !== 'closed'; i++) {
    await untilHalfOpen(store)
    await store.get(page).catch(() => undefined)
    await store.set(page, `v${i + 2}`).catch(() => undefined)
  }
  expect(events).toEqual(['degraded', 'recovered probe-succeeded'])
  expect(store.breakerState).toBe('closed')
  client.disconnect()
})

// Found by the same re-hunt (same JSDoc): while writes are refused "the store stays degraded, with one `degraded`
// event ... instead of a `recovered` after every successful read". `run` passes provesWrites =
// true for every script (store.ts `run`, ~line 296), but a script that only reads (the cache's
// readOrLock on an entry that is there, tag reads) is served by Redis under OOM / NOREPLICAS
// (Redis 7 checks a flagless script at its first write): as the half-open probe it closes the
// circuit and fires `recovered` while every write is still refused: the flapping the fix removed.
it('does not report recovered when the half-open probe is a script that only read, while writes are still refused', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, {
    commandTimeoutMs: 2000,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const page = store.key('rf2', 'page')
  const counter = store.key('rf2', 'n')
  await store.set(page, 'cached page')
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 3; i++) await expect(store.run(incr, [counter], 1)).rejects.toThrow(/OOM/)
    expect(events).toEqual(['degraded'])
    await untilHalfOpen(store)
    const read = await store.run(peek, [page], null).catch((e: Error) => e)
    // Admitted as the probe, the read-only script waits for the store's write probe, refused.
    expect(read).toBeInstanceOf(Error)
    // Writes are still refused.
    await store.run(incr, [counter], 1).catch(() => undefined)
    await store.run(incr, [counter], 1).catch(() => undefined)
    await store.run(incr, [counter], 1).catch(() => undefined)
    expect(events).toEqual(['degraded'])
  } finally {
    await undo()
  }
  client.disconnect()
})

// Found by the same re-hunt. A reply error that is not an availability error (WRONGTYPE, a script's own
// error: "the server answered") counts as a success for the breaker (`isAvailabilityError` is
// false), and `failed()` in store.ts (~line 117) hands it to `breaker.failed(..., isAvailabilityError)`
// without the `refusingWrites` gate that `succeeded()` has: as the half-open probe it closes the
// circuit and fires `recovered` while every write is still refused (and, as a non-probe call,
// resets the failure count). Fix: in `failed()`, when the error is not an availability error and
// `refusingWrites` is set, take the `succeeded(isProbe, false)` path.
it('does not report recovered when the half-open probe gets a WRONGTYPE reply while writes are still refused', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, {
    commandTimeoutMs: 2000,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const list = store.key('rf3', 'list')
  const page = store.key('rf3', 'page')
  await client.rpush(list, 'a')
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 3; i++) await expect(store.set(page, 'v')).rejects.toThrow(/OOM/)
    expect(events).toEqual(['degraded'])
    await untilHalfOpen(store)
    // The probe: a read of a key holding another type (the server answers WRONGTYPE).
    await expect(store.get(list)).rejects.toThrow()
    await store.set(page, 'v').catch(() => undefined)
    expect(events).toEqual(['degraded'])
  } finally {
    await undo()
  }
  client.disconnect()
})

/** A short stall of the whole server (a fork, a slow command): one GET of `store` times out. */
async function stall(store: { get(key: string): Promise<unknown> }, key: string): Promise<void> {
  const admin = server.client()
  try {
    // Outlasts the store's 250 ms timeout by far: a late timer on a loaded runner finds no reply
    // (1 s was not enough once on a loaded Node 24 CI run: the reply came before the timer).
    await admin.client('PAUSE', 3_000, 'ALL')
    await expect(store.get(key)).rejects.toBeInstanceOf(StoreTimeoutError)
    // Paused too, so this answers once the pause has run out.
    await admin.ping()
  } finally {
    admin.disconnect()
  }
}

// Found by a re-hunt: `refusingWrites` was cleared only by a SET or script of the app's that
// succeeded. On a store whose traffic after a brief refusal is only reads (a cache whose entries
// are all there), it stayed set for good, so no successful read ever reset the failure count
// again: the refused write and every later, isolated timeout, far apart and each followed by
// plenty of successful reads, added up until the circuit opened (`degraded`, every call failing
// fast) with Redis healthy.
it('forgets a brief write refusal once Redis takes writes again, on a store that then only reads', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, {
    // Every read but the stalled ones must be answered in time, on a loaded runner too.
    commandTimeoutMs: 250,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  store.on('recovered', () => events.push('recovered'))
  const page = store.key('rf4', 'page')
  await store.set(page, 'cached page')
  const undo = await refuseWrites()
  try {
    await expect(store.set(page, 'new page')).rejects.toThrow(/OOM/)
  } finally {
    await undo()
  }
  // From now on the store only reads: cache hits, and now and then a short stall of Redis.
  for (let i = 0; i < 2; i++) {
    await sleep(100)
    for (let j = 0; j < 20; j++) expect(await store.get(page)).toBe('cached page')
    await sleep(100)
    await stall(store, page)
  }
  expect(await store.get(page)).toBe('cached page')
  expect(events).toEqual([])
  expect(store.breakerState).toBe('closed')
  client.disconnect()
})

// Pins what the fix above must keep: the store's own write check, made while only reads come,
// neither counts when Redis refuses it (the app asked for no write) nor forgets the refusal.
it('keeps counting refused writes across reads while Redis still refuses writes', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, {
    commandTimeoutMs: 2000,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events: string[] = []
  store.on('degraded', () => events.push('degraded'))
  const page = store.key('rf5', 'page')
  const counter = store.key('rf5', 'n')
  await store.set(page, 'cached page')
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 3; i++) {
      expect(events).toEqual([])
      await expect(store.run(incr, [counter], 1)).rejects.toThrow(/OOM/)
      if (i === 2) break
      // Reads well after the refusal: each may start a write check, refused.
      for (let j = 0; j < 5; j++) {
        await sleep(60)
        expect(await store.get(page)).toBe('cached page')
      }
    }
    expect(events).toEqual(['degraded'])
  } finally {
    await undo()
  }
  client.disconnect()
})
