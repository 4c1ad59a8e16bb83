/**
 * `spend()` reports any model name: `byModel` is an object without prototype, so names that are
 * Object.prototype members (`__proto__`, `constructor`, `toString`, `hasOwnProperty`) are keys like
 * any other, and `totalMicros` is their numeric sum, equal to what the limits count. On the default
 * memory store (native ops) and on a real redis-server (Lua script, decoded reply).
 */
import type { Store } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { createBudget, createPriceTable } from '@aikit/cost'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']

async function check(model: string, store?: Store) {
  const budget = createBudget({
    limits: [{ period: 'day', micros: 1_000_000 }],
    prices: createPriceTable({ fallback: 'gpt-4o' }),
    ...(store === undefined ? {} : { store }),
  })
  const subject = `u-${model}`
  await (await budget.reserve(subject, { estimateMicros: 10, model: 'gpt-4o' })).settle(5)
  await (await budget.reserve(subject, { estimateMicros: 10, model })).settle(7)
  const report = await budget.spend(subject)
  const status = await budget.status(subject)
  expect(status.tightest!.spentMicros).toBe(12)
  expect(report.totalMicros).toBe(12)
  expect(Object.getOwnPropertyDescriptor(report.byModel, model)?.value).toBe(7)
  expect(Object.keys(report.byModel).sort()).toEqual(['gpt-4o', model].sort())
}

describe('spend() with model names that are Object.prototype members', () => {
  it.each(NAMES)(
    'memory store, model %s: byModel and totalMicros report the settled spend',
    (model) => check(model)
  )
})

describe('spend() with such names on redis', () => {
  let server: RedisServer
  let store: Store
  const runId = Math.random().toString(36).slice(2, 8)

  beforeAll(async () => {
    server = await startRedis()
    const client = server.client({ maxRetriesPerRequest: 1 })
    await whenReady(client)
    store = redisStore(client, { prefix: `names${runId}`, commandTimeoutMs: 5_000 })
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
  })

  it.each(NAMES)(
    'redis store, model %s: byModel and totalMicros report the settled spend',
    (model) => check(model, store)
  )
})
