/**
 * redisStore on a real 3-master Redis Cluster with one master hung (SIGSTOP): the store has one
 * circuit breaker for the whole Cluster, so one master's timeouts must not open it for the two
 * masters that still answer.
 */
import { type StoreEventInfo, StoreTimeoutError } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import {
  type RedisClusterHandle,
  rawCommand,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, expect, it } from 'vitest'

let handle: RedisClusterHandle
beforeAll(async () => {
  handle = await startRedisCluster()
})
afterAll(async () => {
  await handle?.stop()
})

// Before the fix, the breaker counted failures in the order they completed. Under concurrent
// traffic the calls to the hung master's slots all time out together, after the other masters'
// replies: a run of "consecutive" failures that opened the circuit for the whole Cluster. The two
// healthy masters' slots then failed fast with `circuit-open` nearly all the time (each successful
// half-open probe closed the circuit until the next round of timeouts), and degraded / recovered
// alternated every `openMs` (the aikit_store_degraded gauge flapped). Now a timeout that another
// call's answer overtook while it waited does not count: the Cluster as a whole answers.
it("keeps serving the healthy masters' slots while one master hangs, and calls to its slots time out", async () => {
  const cluster = handle.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await whenReady(cluster)
  // Default breaker (5 failures, openMs 500); a timeout well above a healthy reply on a busy machine.
  const store = redisStore(cluster, { commandTimeoutMs: 200 })
  const events: string[] = []
  store.on('degraded', (info: StoreEventInfo) => events.push(`degraded ${info.reason}`))
  store.on('recovered', (info: StoreEventInfo) => events.push(`recovered ${info.reason}`))
  const victim = handle.nodes[1]!.port
  const keys = Array.from({ length: 30 }, (_, i) => store.key(`page${i}`, 'v'))
  await Promise.all(keys.map((key) => store.set(key, 'v')))
  // The victim master answers only for its own slots (MOVED for the others).
  const onVictim = await Promise.all(
    keys.map((key) =>
      rawCommand(victim, ['EXISTS', key]).then(
        () => true,
        () => false
      )
    )
  )
  expect(onVictim.filter(Boolean).length).toBeGreaterThan(0)
  expect(onVictim.filter((x) => !x).length).toBeGreaterThan(0)

  const pid = Number(/process_id:(\d+)/.exec(await rawCommand(victim, ['INFO', 'server']))?.[1])
  expect(pid).toBeGreaterThan(0)
  process.kill(pid, 'SIGSTOP')
  const outcomes: { onVictim: boolean; outcome: unknown }[] = []
  try {
    // Well within the node timeout (5 s), so the other masters still report cluster_state:ok.
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(keys.map((key) => store.get(key).catch((e: unknown) => e)))
      for (const [i, outcome] of replies.entries())
        outcomes.push({ onVictim: onVictim[i]!, outcome })
    }
  } finally {
    process.kill(pid, 'SIGCONT')
  }
  for (const { onVictim, outcome } of outcomes) {
    if (onVictim) expect(outcome).toBeInstanceOf(StoreTimeoutError)
    else expect(outcome).toBe('v')
  }
  expect(events).toEqual([])
  expect(store.breakerState).toBe('closed')
  cluster.disconnect()
})
