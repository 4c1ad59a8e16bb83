/**
 * redisStore on a real 3-master Redis Cluster where one master refuses writes (OOM).
 */
import { defineOp } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { holds, sleep, watch } from './cluster-helpers.js'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

const incr = defineOp({
  name: 'incr',
  lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  js: (data, keys, argv) => data.incrby(keys[0]!, Number(argv[0])),
  encode: (n: number) => [String(n)],
  decode: (reply) => reply as number,
})

// Pin (passes): a write refusal on one master opens its own circuit only; its probe is the write
// test on its refused key, so it closes once that master takes writes.
it('OOM on one master: the other masters are served, and the store recovers once it takes writes', async () => {
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  const store = redisStore(cluster, {
    // Not under test (the refusals are error replies): long enough for every call the healthy
    // masters must answer on a loaded runner.
    commandTimeoutMs: 2_000,
    breaker: { failureThreshold: 3, openMs: 50 },
  })
  const events = watch(store)
  const victim = handle.nodes[1]!.port
  const keys = Array.from({ length: 30 }, (_, i) => store.key(`oom${i}`, 'c'))
  await Promise.all(keys.map((k) => store.run(incr, [k], 1)))
  const onVictim: string[] = []
  const healthy: string[] = []
  for (const key of keys) ((await holds(victim, key)) ? onVictim : healthy).push(key)
  expect(onVictim.length).toBeGreaterThan(0)
  await rawCommand(victim, ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'])
  await rawCommand(victim, ['CONFIG', 'SET', 'maxmemory', '1'])
  const healthyOutcomes: unknown[] = []
  try {
    for (let round = 0; round < 5; round++) {
      await Promise.all(onVictim.map((k) => store.run(incr, [k], 1).catch(() => undefined)))
      healthyOutcomes.push(
        ...(await Promise.all(healthy.map((k) => store.run(incr, [k], 1).catch((e: unknown) => e))))
      )
      await sleep(20)
    }
  } finally {
    await rawCommand(victim, ['CONFIG', 'SET', 'maxmemory', '0'])
  }
  expect(healthyOutcomes.filter((o) => typeof o !== 'number')).toEqual([])
  expect(events).toEqual([`degraded failures ${victim}`])
  let last: unknown
  // Bounded by time, not by a count of rounds (each round is slower on a loaded runner).
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    await sleep(60)
    last = await store.run(incr, [onVictim[0]!], 1).catch((e: unknown) => e)
    if (typeof last === 'number' && store.breakerState === 'closed') break
  }
  expect(typeof last).toBe('number')
  expect(store.breakerState).toBe('closed')
  expect(events).toEqual([`degraded failures ${victim}`, `recovered probe-succeeded ${victim}`])
  cluster.disconnect()
}, 60_000)
