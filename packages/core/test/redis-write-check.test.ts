/**
 * redisStore's own write test after Redis refused a write (OOM): `SETRANGE <refused key> 0 ""`,
 * sent as the half-open probe and, on a store that then only reads, after a successful read. It
 * changes nothing, targets a key the app itself writes (so an ACL user limited to the app's keys
 * may send it), and stops at close().
 */
import { defineOp, type StoreEventInfo, StoreTimeoutError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'

const incr = defineOp({
  name: 'incr',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0]!, Number(argv[0])),
  encode: (n: number) => [String(n)],
  decode: (reply) => reply as number,
})

let server: RedisServer
let admin: Redis
beforeAll(async () => {
  server = await startRedis()
  admin = server.client()
  await admin.ping()
})
afterAll(async () => {
  await server?.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every write refused with OOM until the returned undo runs. */
async function refuseWrites(): Promise<() => Promise<void>> {
  await admin.config('SET', 'maxmemory-policy', 'noeviction')
  await admin.config('SET', 'maxmemory', '1')
  return async () => {
    await admin.config('SET', 'maxmemory', '0')
  }
}

/**
 * A short stall of the whole server: one GET of `store` times out (the pause outlasts the store's
 * 250 ms timeout by far, so a late timer on a loaded runner still finds no reply).
 */
async function stall(store: { get(key: string): Promise<unknown> }, key: string): Promise<void> {
  await admin.client('PAUSE', 1_000, 'ALL')
  await expect(store.get(key)).rejects.toBeInstanceOf(StoreTimeoutError)
  await admin.ping()
}

function watch(store: ReturnType<typeof redisStore>): string[] {
  const events: string[] = []
  store.on('degraded', (info: StoreEventInfo) => events.push(`degraded ${info.reason}`))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  return events
}

/**
 * A client logged in as a least-privilege ACL user: every command, but only on the keys of the
 * tags the app uses (`aikit:{rl}:*`), as an app that gives each component its own Redis user does.
 */
async function scopedClient(user: string): Promise<Redis> {
  await admin.acl('SETUSER', user, 'reset', 'on', '>pw', '~aikit:{rl}:*', '+@all')
  const client = server.client({ username: user, password: 'pw', maxRetriesPerRequest: 1 })
  await client.ping()
  return client
}

// `Store.close()`: "Stops the store". Before the fix a read in flight at close() that answered
// after it still started a write check: the closed store SET `aikit:{aikit}:write-probe`.
it('sends no write of its own after close()', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, { commandTimeoutMs: 2000, breaker: { openMs: 40 } })
  const page = store.key('wc1', 'page')
  const probeKey = store.key('aikit', 'write-probe')
  await store.set(page, 'cached page')
  const undo = await refuseWrites()
  try {
    await expect(store.set(page, 'new page')).rejects.toThrow(/OOM/)
  } finally {
    await undo()
  }
  await sleep(60)
  await admin.del(probeKey)
  const read = store.get(page)
  await store.close()
  expect(await read).toBe('cached page')
  // Same connection: anything the store sent before this returns has been run.
  await client.ping()
  expect(await admin.pttl(probeKey)).toBe(-2)
  client.disconnect()
})

// Before the fix the write probe (half-open while writes were refused) and the write check SET a
// key outside the app's own tags. For a user whose ACL covers only those, Redis answered NOPERM,
// which the store read as "the server answered, but not to a write": after a brief OOM the circuit
// never closed again (every call failed with circuit-open or the probe's NOPERM) although Redis
// took every write the app made.
it('closes the circuit once Redis takes writes again, for an ACL user limited to its own keys', async () => {
  const client = await scopedClient('wc2')
  const store = redisStore(client, {
    commandTimeoutMs: 2000,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events = watch(store)
  const counter = store.key('rl', 'wc2')
  expect(await store.run(incr, [counter], 1)).toBe(1)
  const undo = await refuseWrites()
  try {
    for (let i = 0; i < 3; i++) await expect(store.run(incr, [counter], 1)).rejects.toThrow(/OOM/)
  } finally {
    await undo()
  }
  expect(events).toEqual(['degraded failures'])
  // Redis takes writes again (the admin's, and this user's on its own keys).
  expect(await client.incrby(counter, 0)).toBe(1)
  const outcomes: unknown[] = []
  for (let i = 0; i < 10; i++) {
    await sleep(60)
    const outcome = await store.run(incr, [counter], 1).catch((e: unknown) => e)
    outcomes.push(outcome instanceof Error ? outcome.message : outcome)
    if (typeof outcome === 'number') break
  }
  expect(typeof outcomes.at(-1), JSON.stringify(outcomes)).toBe('number')
  expect(events).toEqual(['degraded failures', 'recovered probe-succeeded'])
  client.disconnect()
})

// A brief refusal, then only reads and now and then a stall, for the same ACL user: before the fix
// the write check got NOPERM, the refusal was never forgotten and the far-apart stalls added up
// until the circuit opened on a healthy Redis.
it('forgets a brief write refusal on a store that then only reads, for an ACL user limited to its own keys', async () => {
  const client = await scopedClient('wc3')
  const store = redisStore(client, {
    // Every read but the stalled ones must be answered in time, on a loaded runner too.
    commandTimeoutMs: 250,
    breaker: { failureThreshold: 3, openMs: 40 },
  })
  const events = watch(store)
  const page = store.key('rl', 'wc3-page')
  await store.set(page, 'cached page')
  const undo = await refuseWrites()
  try {
    await expect(store.set(page, 'new page')).rejects.toThrow(/OOM/)
  } finally {
    await undo()
  }
  const misses: unknown[] = []
  const read = async () => {
    const outcome = await store.get(page).catch((e: unknown) => e)
    if (outcome !== 'cached page') misses.push(outcome instanceof Error ? outcome.message : outcome)
  }
  for (let i = 0; i < 2; i++) {
    await sleep(100)
    for (let j = 0; j < 20; j++) await read()
    await sleep(100)
    await stall(store, page)
  }
  await sleep(100)
  for (let j = 0; j < 5; j++) await read()
  expect(misses).toEqual([])
  expect(events).toEqual([])
  expect(store.breakerState).toBe('closed')
  client.disconnect()
})

// The write test is a write command that changes nothing: the refused key is not created when it
// did not exist, and keeps its value when it did.
it('writes nothing with its own write test', async () => {
  const client = server.client({ maxRetriesPerRequest: 1 })
  const store = redisStore(client, { commandTimeoutMs: 2000, breaker: { openMs: 40 } })
  const kept = store.key('wc4', 'kept')
  const absent = store.key('wc4', 'absent')
  await store.set(kept, 'cached page')
  const monitorSeen: string[] = []
  const monitor = await admin.monitor()
  monitor.on('monitor', (_time: string, args: string[]) => monitorSeen.push(args.join(' ')))
  const undo = await refuseWrites()
  try {
    await expect(store.set(absent, 'new page')).rejects.toThrow(/OOM/)
  } finally {
    await undo()
  }
  // A read openMs after the refusal sends the write test on the refused key.
  await sleep(60)
  expect(await store.get(kept)).toBe('cached page')
  await client.ping()
  // The monitor's feed comes on its own connection: give it a moment to arrive.
  const seen = `setrange ${absent} 0 `
  for (let end = Date.now() + 10_000; Date.now() < end && !monitorSeen.includes(seen); ) {
    await sleep(10)
  }
  monitor.disconnect()
  expect(monitorSeen).toContain(seen)
  expect(await admin.exists(absent)).toBe(0)
  expect(await admin.get(kept)).toBe('cached page')
  expect(await admin.exists(store.key('aikit', 'write-probe'))).toBe(0)
  client.disconnect()
})
