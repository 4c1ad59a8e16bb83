/**
 * redisStore on a real 3-master Redis Cluster whose master HANGS (SIGSTOP: a frozen VM, or a
 * network partition that drops packets, so the TCP connection stays open) and whose slots are then
 * taken over by another master, as a replica's promotion does after the node timeout.
 */
import type { StoreEventInfo } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { hang, holds, moveSlots, sleep, slotRanges } from './cluster-helpers.js'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

// The README: "A master whose circuit is open and whose slots moved to another node (a failover)
// is forgotten, with `recovered` (reason `failover`)". The store learns of the move only from the
// client's slot table, and ioredis (no `slotsRefreshInterval` by default) refreshes it only on a
// MOVED, a CLUSTERDOWN or a closed connection. A hung master gives none of those: its connection
// stays open and every call to it just waits. Once its circuit is open the store sends nothing to
// its slots but one probe per openMs, which times out on the same hung connection, so the slot
// table never changes: the slots the heir now serves fail for as long as the old master stays
// hung (a frozen host: for good), and the store stays degraded although the Cluster healed.
// That was so before the fix; now the store asks the client to re-read the table while degraded.
it("serves a hung master's slots once another master took them over, and reports recovered", async () => {
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    commandTimeoutMs: 200,
    breaker: { failureThreshold: 2, openMs: 50 },
  })
  const events: string[] = []
  store.on('degraded', (info: StoreEventInfo) => events.push(`degraded ${info.reason}`))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const [heir, other, victim] = handle.nodes.map((n) => n.port) as [number, number, number]
  const keys = Array.from({ length: 30 }, (_, i) => store.key(`hf${i}`, 'v'))
  // Set through the client, not the store: the first commands of a just-ready client wait for its
  // per-master connections, which may outlast the 200 ms timeout (and count in the breaker).
  await Promise.all(keys.map((key) => cluster.set(key, 'v')))
  const onVictim: string[] = []
  for (const key of keys) if (await holds(victim, key)) onVictim.push(key)
  expect(onVictim.length).toBeGreaterThan(0)
  const victimId = (await rawCommand(victim, ['CLUSTER', 'MYID'])).trim()
  const ranges = await slotRanges(heir, victimId)
  const resume = await hang(victim)
  let outcome: unknown
  try {
    for (let i = 0; i < 3; i++) await store.get(onVictim[0]!).catch(() => undefined)
    expect(events).toEqual(['degraded failures'])
    // The heir takes the hung master's slots over (what a promoted replica does).
    await moveSlots(ranges, heir, [other])
    // The app keeps calling for 5 s (100 openMs): the heir serves those slots all along.
    for (let i = 0; i < 25; i++) {
      await sleep(200)
      outcome = await store.get(onVictim[0]!).catch((e: unknown) => e)
      if (!(outcome instanceof Error)) break
    }
  } finally {
    resume()
  }
  expect(outcome instanceof Error ? outcome.message : outcome).toBeUndefined()
  // Forgotten by the sweep (`failover`), or closed by a probe that the client, its table just
  // re-read, sent to the heir (`probe-succeeded`): either way the store recovered, once.
  // Bounded by time, not by a count of rounds (each round is slower on a loaded runner).
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && events.length < 2; ) {
    await sleep(60)
    await store.get(onVictim[0]!).catch(() => undefined)
  }
  expect(events).toHaveLength(2)
  expect(events[0]).toBe('degraded failures')
  expect(events[1]).toMatch(/^recovered (failover|probe-succeeded)$/)
  expect(store.breakerState).toBe('closed')
  cluster.disconnect()
}, 60_000)
