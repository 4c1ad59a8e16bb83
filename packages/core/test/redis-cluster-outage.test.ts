/**
 * redisStore on a real 3-master Redis Cluster that is unreachable (every node killed), at
 * the store's start or after it served, then back.
 */
import { redisStore } from '@aikit/core/redis'
import { type RedisClusterHandle, startRedisCluster, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sleep, watch } from './cluster-helpers.js'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

async function killAll(): Promise<void> {
  for (let i = 0; i < 3; i++) await handle.killNode(i)
}
async function restartAll(): Promise<void> {
  for (let i = 0; i < 3; i++) await handle.restartNode(i)
}

// Pin (passes): calls before the slot table is known share `single`; its half-open probe is the
// next call wherever it goes, so the store recovers once the Cluster is back.
it('Cluster unreachable at start, then back: the store recovers and breakerState returns to closed', async () => {
  await killAll()
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  const store = redisStore(cluster, {
    // Not under test: long enough for the calls that must succeed once the Cluster is back.
    commandTimeoutMs: 1_000,
    breaker: { failureThreshold: 2, openMs: 50 },
  })
  const events = watch(store)
  const keys = Array.from({ length: 12 }, (_, i) => store.key(`u${i}`, 'v'))
  for (let i = 0; i < 3; i++) await store.get(keys[i]!).catch(() => undefined)
  expect(events.length).toBe(1)
  expect(store.breakerState).not.toBe('closed')
  await restartAll()
  await whenReady(cluster, 30_000)
  const outcomes: unknown[] = []
  // Bounded by time, not by a count of rounds (each round is slower on a loaded runner).
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    await sleep(60)
    const replies = await Promise.all(keys.map((k) => store.get(k).catch((e: unknown) => e)))
    outcomes.push(...replies)
    if (replies.every((r) => !(r instanceof Error)) && store.breakerState === 'closed') break
  }
  for (const key of keys) await store.get(key)
  expect(store.breakerState).toBe('closed')
  expect(events[0]).toMatch(/^degraded /)
  expect(events[1]).toMatch(/^recovered probe-succeeded/)
  // On a loaded machine a restarted master may still refuse calls once the slot table is known
  // (its own circuit opens, then recovers): whatever the count, every health that degraded has
  // recovered by now.
  const open = new Map<string, number>()
  for (const event of events) {
    const [kind, , node = ''] = event.split(' ')
    open.set(node, (open.get(node) ?? 0) + (kind === 'degraded' ? 1 : -1))
  }
  expect([...open.values()].every((n) => n === 0)).toBe(true)
  cluster.disconnect()
}, 90_000)
