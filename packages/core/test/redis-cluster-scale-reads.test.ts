/**
 * redisStore on a real Redis Cluster whose master has a replica, with a client that reads from
 * replicas (`scaleReads`, ioredis's way to spread reads): the reads have a breaker of their own,
 * so neither a hung master nor a hung replica hides behind, or takes down, the other.
 */
import { StoreTimeoutError, StoreUnavailableError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  type RedisServer,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { hang, sleep, splitKeys, startReplica, watch } from './cluster-helpers.js'

let handle: RedisClusterHandle
let replica: RedisServer
let victim: number
beforeAll(async () => {
  handle = await startRedisCluster()
  victim = handle.nodes[2]!.port
  replica = await startReplica(
    victim,
    handle.nodes.map((n) => n.port)
  )
}, 60_000)
afterAll(async () => {
  await replica?.stop()
  await handle?.stop()
})

const outcome = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'ok',
    (e: unknown) => e
  )

// Before, a call's breaker was its key's master's, reads included: the replica's answers counted
// as the master's, so every write timeout of a hung master was "overtaken by another answer" and
// never counted: its circuit never opened and each write waited commandTimeoutMs for as long as
// the master hung.
it('opens the circuit of a hung master whose replica serves the reads (scaleReads: slave)', async () => {
  const cluster = handle.cluster({ scaleReads: 'slave', redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    // The replica's reads must succeed all along; 3 timeouts (1.5 s) stay well within the node
    // timeout (5 s), past which the replica would be promoted.
    commandTimeoutMs: 500,
    breaker: { failureThreshold: 3, openMs: 5000 },
  })
  const events = watch(store)
  const { onVictim } = await splitKeys(cluster, store, victim, 'sr')
  const key = onVictim[0]!
  // The replica has the keys (polled: replication takes longer on a loaded runner). Read through
  // the client, not the store: a slow first read would count in the store's read breaker.
  await vi.waitFor(async () => expect(await cluster.get(key)).toBe('v'), {
    timeout: 10_000,
    interval: 50,
  })
  const resume = await hang(victim)
  const writes: unknown[] = []
  const reads: unknown[] = []
  try {
    // ~2 s, well within the node timeout (5 s): no failover.
    for (let round = 0; round < 8; round++) {
      const [w, r] = await Promise.all([
        outcome(store.set(key, 'w')),
        sleep(20).then(() => store.get(key).catch((e: unknown) => e)),
      ])
      writes.push(w)
      reads.push(r)
    }
  } finally {
    resume()
  }
  const timedOut = writes.filter((w) => w instanceof StoreTimeoutError).length
  expect(timedOut, `${timedOut} of ${writes.length} writes timed out`).toBe(3)
  expect(writes.slice(3).every((w) => w instanceof StoreUnavailableError)).toBe(true)
  // The reads were served by the replica throughout.
  expect(reads).toEqual(Array(8).fill('v'))
  expect(events).toEqual([`degraded failures ${victim}`])
  expect(store.breakerState).toBe('open')
  cluster.disconnect()
}, 60_000)

// The other way round: a hung replica's read timeouts opened the master's circuit (same breaker),
// so the writes to a healthy master failed fast too.
it("a hung replica opens the reads' circuit only: writes to its master are served, and it recovers", async () => {
  const cluster = handle.cluster({ scaleReads: 'slave', redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    // The writes must succeed all along. openMs 1 s: the reads after the circuit opened must
    // still find it open (no probe) even after a stall.
    commandTimeoutMs: 500,
    breaker: { failureThreshold: 3, openMs: 1_000 },
  })
  const events = watch(store)
  const { onVictim } = await splitKeys(cluster, store, victim, 'rh')
  const key = onVictim[0]!
  await vi.waitFor(async () => expect(await cluster.get(key)).toBe('v'), {
    timeout: 10_000,
    interval: 50,
  })
  const resume = await hang(replica.port)
  const writes: unknown[] = []
  const reads: unknown[] = []
  try {
    for (let round = 0; round < 6; round++) {
      const [r, w] = await Promise.all([
        outcome(store.get(key)),
        sleep(20).then(() => outcome(store.set(key, `w${round}`))),
      ])
      reads.push(r)
      writes.push(w)
    }
  } finally {
    resume()
  }
  expect(writes).toEqual(Array(6).fill('ok'))
  expect(reads.slice(0, 3).every((r) => r instanceof StoreTimeoutError)).toBe(true)
  expect(reads.slice(3).every((r) => r instanceof StoreUnavailableError)).toBe(true)
  expect(events).toEqual([`degraded failures ${replica.port}`])
  // The replica answers again: the next read after openMs is the probe, and it closes the circuit.
  let value: unknown
  for (let i = 0; i < 100 && store.breakerState !== 'closed'; i++) {
    await sleep(50)
    value = await store.get(key).catch((e: unknown) => e)
  }
  expect(store.breakerState).toBe('closed')
  expect(value).toBe('w5')
  expect(events).toEqual([
    `degraded failures ${replica.port}`,
    `recovered probe-succeeded ${replica.port}`,
  ])
  cluster.disconnect()
}, 60_000)

// A replica that leaves the slot table (a failed one is dropped from CLUSTER SLOTS; here the
// masters forget it) takes its read group with it: the group's open circuit would otherwise keep
// the store degraded for good, its reads now going to the master.
it("forgets the read group of a replica that left the slot table: recovered 'failover', reads served by the master", async () => {
  const cluster = handle.cluster({ scaleReads: 'slave', redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    commandTimeoutMs: 500,
    breaker: { failureThreshold: 2, openMs: 100 },
  })
  const events = watch(store)
  const { onVictim } = await splitKeys(cluster, store, victim, 'rf')
  const key = onVictim[0]!
  await vi.waitFor(async () => expect(await cluster.get(key)).toBe('v'), {
    timeout: 10_000,
    interval: 50,
  })
  const replicaId = (await rawCommand(replica.port, ['CLUSTER', 'MYID'])).trim()
  const resume = await hang(replica.port)
  try {
    for (let i = 0; i < 2; i++) await expect(store.get(key)).rejects.toThrow(StoreTimeoutError)
    expect(events).toEqual([`degraded failures ${replica.port}`])
    for (const { port } of handle.nodes) await rawCommand(port, ['CLUSTER', 'FORGET', replicaId])
    for (let i = 0; i < 100 && store.breakerState !== 'closed'; i++) {
      await sleep(50)
      await store.get(key).catch(() => {})
    }
    expect(store.breakerState).toBe('closed')
    expect(events).toEqual([
      `degraded failures ${replica.port}`,
      'recovered failover ' + replica.port,
    ])
    expect(await store.get(key)).toBe('v')
  } finally {
    resume()
  }
  cluster.disconnect()
}, 60_000)
