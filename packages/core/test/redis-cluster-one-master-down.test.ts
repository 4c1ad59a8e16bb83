/**
 * redisStore on a real 3-master Redis Cluster with one master hung (SIGSTOP) or gone (SIGKILL):
 * each master has a circuit breaker of its own, so one master's timeouts or connection errors open
 * the circuit for its own slots only, and the two masters that still answer are served.
 */
import { StoreTimeoutError, StoreUnavailableError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { keySlot } from '../src/redis/slot.js'
import { hang, sleep, splitKeys, watch } from './cluster-helpers.js'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

type Store = ReturnType<typeof redisStore>

async function untilState(store: Store, state: string): Promise<void> {
  for (let i = 0; i < 200 && store.breakerState !== state; i++) await sleep(10)
  expect(store.breakerState).toBe(state)
}

function isTimeoutOrCircuitOpen(outcome: unknown): boolean {
  return (
    outcome instanceof StoreTimeoutError ||
    (outcome instanceof StoreUnavailableError && outcome.reason === 'circuit-open')
  )
}

// Before per-master breakers (one breaker for the whole Cluster) the calls to the hung master's
// slots all timed out together after the other masters' replies: a run of "consecutive" failures
// that opened the circuit for the whole Cluster, the healthy masters' slots failing fast nearly all
// the time and degraded / recovered alternating every `openMs`.
it("serves the healthy masters' slots while one master hangs; its own slots time out, then fail fast", async () => {
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  // Default breaker (5 failures, openMs 500); a timeout well above a healthy reply on a loaded
  // runner (the healthy masters' calls must all succeed), still far below the node timeout.
  const store = redisStore(cluster, { commandTimeoutMs: 1_000 })
  const events = watch(store)
  const victim = handle.nodes[1]!.port
  const { onVictim, healthy } = await splitKeys(cluster, store, victim, 'page')
  const keys = [...onVictim, ...healthy]
  const victimOutcomes: unknown[] = []
  const healthyOutcomes: unknown[] = []
  const resume = await hang(victim)
  try {
    // Well within the node timeout (5 s), so the other masters still report cluster_state:ok.
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(keys.map((key) => store.get(key).catch((e: unknown) => e)))
      for (const [i, outcome] of replies.entries()) {
        ;(i < onVictim.length ? victimOutcomes : healthyOutcomes).push(outcome)
      }
    }
    expect(store.breakerState).toBe('open')
  } finally {
    resume()
  }
  expect(healthyOutcomes.filter((o) => o !== 'v')).toEqual([])
  expect(victimOutcomes.filter((o) => !isTimeoutOrCircuitOpen(o))).toEqual([])
  // Its circuit opened: the later rounds failed fast instead of waiting out the timeout.
  expect(victimOutcomes.filter((o) => o instanceof StoreUnavailableError).length).toBeGreaterThan(0)
  expect(events).toEqual([`degraded failures ${victim}`])
  // Resumed: the next call to its slots after openMs is the probe and closes its circuit.
  await untilState(store, 'half-open')
  expect(await store.get(onVictim[0]!)).toBe('v')
  expect(store.breakerState).toBe('closed')
  expect(events).toEqual([`degraded failures ${victim}`, `recovered probe-succeeded ${victim}`])
  cluster.disconnect()
})

// Requests that each first touch a key on the hung master (a rate-limit or session key) and then a
// key elsewhere: the first calls of a burst start and time out together with no answer between
// them. With one breaker for the Cluster they opened it, and the healthy reads failed fast.
it("serves the healthy masters' slots to requests that first touch a key on the hung master", async () => {
  const cluster: Cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  // The healthy reads must succeed: a timeout well above a reply on a loaded runner.
  const store = redisStore(cluster, { commandTimeoutMs: 1_000 })
  const victim = handle.nodes[1]!.port
  const { onVictim, healthy } = await splitKeys(cluster, store, victim, 'first')
  const healthyOutcomes: unknown[] = []
  const resume = await hang(victim)
  try {
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          await store.get(onVictim[i % onVictim.length]!).catch(() => undefined)
          healthyOutcomes.push(
            await store.get(healthy[i % healthy.length]!).catch((e: unknown) => e)
          )
        })
      )
    }
  } finally {
    resume()
  }
  expect(healthyOutcomes).toHaveLength(32)
  expect(healthyOutcomes.filter((o) => o !== 'v')).toEqual([])
  cluster.disconnect()
})

// One call at a time to the hung master's slots opens its circuit; the healthy masters' slots are
// served meanwhile, even while its half-open probe waits; a probe that times out keeps it open.
it('opens the circuit of the hung master only, keeps it open on a probe that times out, closes it when the master answers', async () => {
  const cluster: Cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    // Three timeouts in the hang (~2 s with openMs): well within the node timeout (5 s). openMs
    // 500, not less: the call right after the circuit opens must still find it open.
    commandTimeoutMs: 500,
    breaker: { failureThreshold: 2, openMs: 500 },
  })
  const events = watch(store)
  const victim = handle.nodes[0]!.port
  const { onVictim, healthy } = await splitKeys(cluster, store, victim, 'serial')
  const resume = await hang(victim)
  try {
    for (let i = 0; i < 2; i++) {
      await expect(store.get(onVictim[0]!)).rejects.toBeInstanceOf(StoreTimeoutError)
    }
    expect(events).toEqual([`degraded failures ${victim}`])
    await expect(store.get(onVictim[1 % onVictim.length]!)).rejects.toThrow(/circuit open/)
    expect(await store.get(healthy[0]!)).toBe('v')
    await untilState(store, 'half-open')
    const probe = store.get(onVictim[0]!).catch((e: unknown) => e)
    expect(await store.get(healthy[1 % healthy.length]!)).toBe('v')
    expect(await probe).toBeInstanceOf(StoreTimeoutError)
    expect(store.breakerState).toBe('open')
  } finally {
    resume()
  }
  await untilState(store, 'half-open')
  expect(await store.get(onVictim[0]!)).toBe('v')
  expect(store.breakerState).toBe('closed')
  expect(events).toEqual([`degraded failures ${victim}`, `recovered probe-succeeded ${victim}`])
  cluster.disconnect()
})

// The master gone (killed) rather than hung, on a client made as the store's docs advise
// (`maxRetriesPerRequest: 1`): calls to its slots fail with connection errors at once.
it("serves the healthy masters' slots while one master is gone (killed)", async () => {
  const cluster: Cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, { commandTimeoutMs: 1_000 })
  const events = watch(store)
  const victim = handle.nodes[2]!.port
  const { onVictim, healthy } = await splitKeys(cluster, store, victim, 'gone')
  const keys = [...onVictim, ...healthy]
  const victimOutcomes: unknown[] = []
  const healthyOutcomes: unknown[] = []
  await handle.killNode(2)
  try {
    // Within the node timeout (5 s): the other masters still report cluster_state:ok.
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(keys.map((key) => store.get(key).catch((e: unknown) => e)))
      for (const [i, outcome] of replies.entries()) {
        ;(i < onVictim.length ? victimOutcomes : healthyOutcomes).push(outcome)
      }
    }
  } finally {
    await handle.restartNode(2)
  }
  for (const outcome of victimOutcomes) expect(outcome).toBeInstanceOf(Error)
  expect(healthyOutcomes.filter((o) => o !== 'v')).toEqual([])
  expect(events).toEqual([`degraded failures ${victim}`])
  cluster.disconnect()
})

// The store finds a key's master from its slot: its slot must be the one the Cluster uses.
it("computes each key's slot as the Cluster does", async () => {
  const store = redisStore(handle.cluster())
  const keys = [
    store.key('page7', 'v'),
    store.key('user:42', 'minute'),
    store.key('é{}%', 'x'),
    store.key('日本', 'x'),
    'no-tag',
  ]
  for (const key of keys) {
    const slot = await rawCommand(handle.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', key])
    expect(keySlot(key), key).toBe(Number(slot.replace(/^:/, '')))
  }
})
