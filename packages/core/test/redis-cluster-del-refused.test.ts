/**
 * redisStore on a real 3-master Redis Cluster where one master refuses every write with
 * NOREPLICAS (`min-replicas-to-write` and its replica gone: what a managed Redis does when its
 * replica lags or dies) while the app's writes to that master are deletes.
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
import { holds, sleep } from './cluster-helpers.js'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

async function owner(key: string): Promise<number> {
  for (const { port } of handle.nodes) if (await holds(port, key)) return port
  throw new Error(`no owner for ${key}`)
}

// README: the store's write test "targets the key of the last refused write (the same master on a
// Cluster ...), or `<prefix>:{aikit}:write-probe` before any". A refused DEL is a refused write, but
// `delete()` is not passed as a write, so its key is not recorded: the half-open probe writes to
// `{aikit}:write-probe`, which lives on ANOTHER master, that takes it. The refusing master's circuit
// closes with `recovered` while it still refuses every write, then opens again after the next
// refusals: degraded / recovered alternate every openMs for as long as the refusal lasts (the
// aikit_store_degraded gauge flaps, and the refused DELs are sent again after every recovery).
// That was so before the fix; now any refused call's key is the one the write test targets.
// The same holds on a plain client whose ACL user may not write `{aikit}:write-probe` (NOPERM is
// read as "not refused").
it('keeps one degraded (no recovered) while a master refuses the deletes it is sent', async () => {
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    commandTimeoutMs: 500,
    breaker: { failureThreshold: 3, openMs: 50 },
  })
  const events: string[] = []
  store.on('degraded', (info: StoreEventInfo) => events.push(`degraded ${info.node}`))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.node}`))
  const probeOwner = await owner(store.key('aikit', 'write-probe'))
  const victim = handle.nodes.find((n) => n.port !== probeOwner)!.port
  const keys = Array.from({ length: 40 }, (_, i) => store.key(`del${i}`, 'v'))
  await Promise.all(keys.map((k) => store.set(k, 'v')))
  const onVictim: string[] = []
  for (const key of keys) if ((await owner(key)) === victim) onVictim.push(key)
  expect(onVictim.length).toBeGreaterThan(0)
  await rawCommand(victim, ['CONFIG', 'SET', 'min-replicas-to-write', '1'])
  try {
    // 1 s of deletes (and reads) to that master's keys.
    for (let i = 0; i < 50; i++) {
      const key = onVictim[i % onVictim.length]!
      await store.delete(key).catch(() => undefined)
      await store.get(key).catch(() => undefined)
      await sleep(20)
    }
    // Redis still refuses every write there.
    await expect(rawCommand(victim, ['DEL', onVictim[0]!])).rejects.toThrow(/NOREPLICAS/)
  } finally {
    await rawCommand(victim, ['CONFIG', 'SET', 'min-replicas-to-write', '0'])
  }
  expect(events).toEqual([`degraded 127.0.0.1:${victim}`])
  cluster.disconnect()
}, 60_000)
