/**
 * redisStore on a real 3-master Redis Cluster whose master dies and whose slots move to another
 * master: the dead master's circuit was open, and no call will ever reach it again to close it.
 */
import { type StoreEventInfo, StoreUnavailableError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { holds, moveSlots, sleep, slotRanges } from './cluster-helpers.js'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

// Before the fix the store stayed degraded for good: `breakerState` 'open' and the
// aikit_store_degraded gauge at 1 while every call was served, until the process restarted.
it('reports recovered once the open master left the slot table (its slots moved to another master)', async () => {
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    commandTimeoutMs: 200,
    // Long enough that the third call below still meets the open circuit on a stalled runner
    // (at 50 ms it could find it half-open, send its probe, and time out).
    breaker: { failureThreshold: 2, openMs: 1000 },
  })
  const events: string[] = []
  store.on('degraded', (info: StoreEventInfo) => events.push(`degraded ${info.reason}`))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const [heir, other, victim] = handle.nodes.map((n) => n.port) as [number, number, number]
  const keys = Array.from({ length: 30 }, (_, i) => store.key(`fo${i}`, 'v'))
  await Promise.all(keys.map((key) => store.set(key, 'v')))
  const onVictim: string[] = []
  for (const key of keys) if (await holds(victim, key)) onVictim.push(key)
  expect(onVictim.length).toBeGreaterThan(0)
  const victimId = (await rawCommand(victim, ['CLUSTER', 'MYID'])).trim()
  const ranges = await slotRanges(heir, victimId)
  expect(ranges.length).toBeGreaterThan(0)

  // The victim dies; its slots' calls fail until its circuit opens.
  await handle.killNode(2)
  for (let i = 0; i < 2; i++) {
    const outcome = await store.get(onVictim[0]!).catch((e: unknown) => e)
    expect(outcome).toBeInstanceOf(Error)
  }
  await expect(store.get(onVictim[0]!)).rejects.toBeInstanceOf(StoreUnavailableError)
  expect(events).toEqual(['degraded failures'])
  expect(store.breakerState).not.toBe('closed')

  // An operator (or a promoted replica) takes the slots over: the heir claims them with a new epoch.
  await moveSlots(ranges, heir, [other])
  await new Promise<void>((resolve, reject) =>
    cluster.refreshSlotsCache((error) => (error ? reject(error) : resolve()))
  )

  // The victim's former keys now live (empty) on the heir: served, and the store recovers.
  let outcome: unknown
  // Bounded by time, not by a count of rounds (each round is slower on a loaded runner).
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    await sleep(60)
    outcome = await store.get(onVictim[0]!).catch((e: unknown) => e)
    if (!(outcome instanceof Error)) break
  }
  expect(outcome).toBeUndefined()
  // The store looks at the slot table at most once per `openMs`: a call served within that of the
  // last look reports nothing yet; a later one does.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && events.length < 2; ) {
    await store.get(keys[0]!)
    await sleep(60)
  }
  expect(events).toEqual(['degraded failures', 'recovered failover'])
  expect(store.breakerState).toBe('closed')
  cluster.disconnect()
}, 60_000)
