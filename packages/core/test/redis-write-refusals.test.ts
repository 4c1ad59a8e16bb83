/**
 * redisStore when Redis refuses writes (OOM, READONLY, NOREPLICAS, MISCONF) but still answers
 * reads: reads that succeed say nothing about writes, so they neither close the circuit nor hide
 * the outage from the breaker.
 */
import { defineOp, type StoreEventInfo } from '@aikit/core'
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
    // The half-open probe is a read (a cache lookup), which OOM does not refuse.
    expect(await store.get(store.key('oom', 'page'))).toBe('cached page')
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
