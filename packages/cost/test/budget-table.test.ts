/**
 * The shared table: one sequence of reserve / settle / release / status / spend calls runs on
 * memoryStore, a real redis-server and a real 3-node Redis Cluster; the transcripts must equal the
 * expected one (hence each other). Limits are a calendar day and a rolling hour, so the few
 * milliseconds between calls never change a result; reset times are left out.
 */
import { memoryStore, type Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type BudgetStatus, createBudget } from '@aikit/cost'
import {
  type RedisClusterHandle,
  type RedisServer,
  startRedis,
  startRedisCluster,
  whenReady,
} from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const brief = (s: BudgetStatus) =>
  s.limits.map(
    (l) => `${l.period} spent=${l.spentMicros} held=${l.heldMicros} left=${l.remainingMicros}`
  )

async function transcript(store: Store, subject: string): Promise<unknown[]> {
  const budget = createBudget({
    store,
    limits: [
      { period: 'day', micros: 1000 },
      { period: 'rolling', window: '1h', micros: 600 },
    ],
  })
  const out: unknown[] = []
  const tryReserve = async (micros: number) => {
    try {
      const r = await budget.reserve(subject, { estimateMicros: micros, model: 'm' })
      out.push(['reserve', micros, brief(r.status!)])
      return r
    } catch (error) {
      const e = error as { code: string; status: number; details: Record<string, unknown> }
      const { period, remainingMicros, requestedMicros, limitMicros } = e.details
      out.push([
        'reject',
        micros,
        e.code,
        e.status,
        { period, remainingMicros, requestedMicros, limitMicros },
      ])
      return undefined
    }
  }
  const a = await tryReserve(300)
  await tryReserve(400) // 300 held + 400 > 600 on the rolling hour
  const b = await tryReserve(300)
  const settledA = await a!.settle(100)
  out.push(['settle', 100, settledA.held, brief(settledA.status)])
  out.push(['settle again', (await a!.settle(999)).chargedMicros])
  out.push(['release', await b!.release()])
  out.push(['release again', await b!.release()])
  out.push(['status', brief(await budget.status(subject))])
  const c = await tryReserve(500)
  const settledC = await c!.settle(700) // more than held: the actual spend is charged
  out.push(['settle over', brief(settledC.status)])
  await tryReserve(1)
  const day = await budget.spend(subject, { period: 'day' })
  const hour = await budget.spend(subject, { period: 'rolling' })
  out.push(['spend', day.period, day.totalMicros, day.byModel, hour.period, hour.totalMicros])
  return out
}

const expected = [
  ['reserve', 300, ['day spent=0 held=300 left=700', 'rolling:3600000 spent=0 held=300 left=300']],
  [
    'reject',
    400,
    'BUDGET_EXCEEDED',
    402,
    { period: 'rolling:3600000', remainingMicros: 300, requestedMicros: 400, limitMicros: 600 },
  ],
  ['reserve', 300, ['day spent=0 held=600 left=400', 'rolling:3600000 spent=0 held=600 left=0']],
  [
    'settle',
    100,
    true,
    ['day spent=100 held=300 left=600', 'rolling:3600000 spent=100 held=300 left=200'],
  ],
  ['settle again', 100],
  ['release', true],
  ['release again', true], // idempotent: the first outcome
  ['status', ['day spent=100 held=0 left=900', 'rolling:3600000 spent=100 held=0 left=500']],
  [
    'reserve',
    500,
    ['day spent=100 held=500 left=400', 'rolling:3600000 spent=100 held=500 left=0'],
  ],
  ['settle over', ['day spent=800 held=0 left=200', 'rolling:3600000 spent=800 held=0 left=0']],
  [
    'reject',
    1,
    'BUDGET_EXCEEDED',
    402,
    { period: 'rolling:3600000', remainingMicros: 0, requestedMicros: 1, limitMicros: 600 },
  ],
  ['spend', 'day', 800, { m: 800 }, 'rolling:3600000', 800],
]

let server: RedisServer
let cluster: RedisClusterHandle
const stores: Record<string, Store> = {}
const runId = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  ;[server, cluster] = await Promise.all([startRedis(), startRedisCluster()])
  const single = server.client({ maxRetriesPerRequest: 1 })
  const clustered = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 1 } })
  await Promise.all([whenReady(single), whenReady(clustered)])
  const options = { prefix: `t${runId}`, commandTimeoutMs: 5_000 }
  stores.memory = memoryStore({ prefix: `t${runId}` })
  stores.redis = redisStore(single, options)
  stores.cluster = redisStore(clustered, options)
}, 60_000)

afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()])
})

describe('the same budget transcript on memory, redis and cluster', () => {
  for (const name of ['memory', 'redis', 'cluster']) {
    it(name, async () => {
      expect(await transcript(stores[name]!, `user:${name}`)).toEqual(expected)
    })
  }
})
