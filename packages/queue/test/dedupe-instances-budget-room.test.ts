/**
 * Identical enqueues from several instances (queue objects) against a budget with room for ONE
 * worst case: joining a pending job holds nothing, so they all get the one job, none a 402. The
 * enqueue that holds the budget sets a short marker per dedupe id until its job is added; an
 * identical enqueue of another instance that finds it waits for that job and joins it (it used to
 * hold the budget itself meanwhile, fail, re-check once before the job was added, and answer 402).
 * Guarded too: when that enqueue fails, a waiting one holds the budget and adds the job itself; a
 * marker left by a dead instance delays an enqueue only until it expires; a budget with room for
 * none still answers 402 to all, and no marker is left behind.
 */
import { redisStore } from '@aikit/core/redis'
import { type Budget, createBudget } from '@aikit/cost'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { dedupeIdOf } from '../src/cache-key.js'
import { enqueuingKey } from '../src/keys.js'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
let one = 0 // the budget one job holds (micro-USD)
beforeAll(async () => {
  h = await startHarness()
  const name = h.name()
  const probe = budgetOn(1, name)
  await h.queue({ name, budget: probe }).enqueue(job())
  one = (await probe.status('dc')).tightest?.heldMicros ?? 0
})
afterAll(async () => {
  await h?.close()
})

const budgetOn = (usd: number, prefix: string): Budget =>
  createBudget({
    store: redisStore(h.redis.client(), { prefix, commandTimeoutMs: 5000 }),
    limits: [{ period: 'rolling', window: '1d', usd }],
  })
/** Room for one worst case, not two. */
const roomForOne = (prefix: string): Budget => budgetOn((one * 1.5) / 1e6, prefix)
/** The same request every time (its worst case is `one`); each test has its own queue name. */
const job = () =>
  ({
    provider: 'anthropic',
    api: 'messages',
    subject: 'dc',
    params: messages('double click'),
  }) as const
const codeOf = (r: PromiseSettledResult<unknown>): string | undefined =>
  r.status === 'rejected' ? String((r.reason as { code?: string }).code) : undefined

async function markers(name: string): Promise<string[]> {
  const c = h.redis.client()
  try {
    return await c.keys(`aikit:llmq:{${name}}:enqueuing:*`)
  } finally {
    c.disconnect()
  }
}

describe('identical enqueues from three instances, room for one worst case', () => {
  it('all get the one job (no 402), held once, no marker left', async () => {
    expect(one).toBeGreaterThan(0)
    for (let round = 0; round < 3; round++) {
      const name = h.name()
      const budget = roomForOne(name)
      const qs = Array.from({ length: 3 }, () => h.queue({ name, budget }))
      const results = await Promise.allSettled(qs.map((q) => q.enqueue(job())))
      expect(results.map(codeOf)).toEqual([undefined, undefined, undefined])
      const values = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
      expect(new Set(values.map((v) => v.jobId)).size).toBe(1)
      expect(values.filter((v) => !v.deduplicated)).toHaveLength(1)
      expect((await budget.status('dc')).tightest?.heldMicros).toBe(one)
      expect(await markers(name)).toEqual([])
    }
  }, 60_000)

  it('a waiting enqueue holds the budget and adds the job itself when the first one fails', async () => {
    const name = h.name()
    const budget = roomForOne(name)
    const first = h.queue({ name, budget })
    let failAdd: () => void = () => {}
    const addFails = new Promise<void>((resolve) => {
      failAdd = resolve
    })
    first.queue.add = async () => {
      await addFails
      throw new Error('Command timed out')
    }
    const firstResult = first.enqueue(job())
    firstResult.catch(() => undefined) // awaited below
    // The first holds the budget and is stuck before its job is added.
    await vi.waitFor(
      async () => expect((await budget.status('dc')).tightest?.heldMicros).toBe(one),
      {
        timeout: 10_000,
        interval: 10,
      }
    )
    // The second instance's reads of the marker: it is waiting on the first's enqueue.
    const conn = h.redis.client()
    let markerReads = 0
    const exists = conn.exists.bind(conn) as (...a: unknown[]) => Promise<number>
    ;(conn as unknown as { exists: (...a: unknown[]) => Promise<number> }).exists = (...a) => {
      if (String(a[0]).includes(':enqueuing:')) markerReads++
      return exists(...a)
    }
    const second = h.queue({ name, budget, connection: conn as Redis })
    const secondResult = second.enqueue(job())
    let secondSettled = false
    secondResult.then(
      () => (secondSettled = true),
      () => (secondSettled = true)
    )
    try {
      await vi.waitFor(() => expect(markerReads > 0 || secondSettled).toBe(true), {
        timeout: 10_000,
        interval: 10,
      })
    } finally {
      failAdd()
    }
    await expect(firstResult).rejects.toThrow('Command timed out')
    const added = await secondResult
    expect(added.deduplicated).toBe(false)
    expect(await second.queue.getJob(added.jobId)).toBeTruthy()
    expect((await budget.status('dc')).tightest?.heldMicros).toBe(one)
    expect(await markers(name)).toEqual([])
  }, 30_000)

  it('a marker left by a dead instance delays an identical enqueue only until it expires', async () => {
    const name = h.name()
    const budget = roomForOne(name)
    const c = h.redis.client()
    const marker = enqueuingKey('aikit', name, dedupeIdOf('dc', 'default', 'k'))
    await c.set(marker, 'dead instance', 'PX', 300)
    c.disconnect()
    const q = h.queue({ name, budget, cacheKey: () => 'k' })
    const added = await q.enqueue(job())
    expect(added.deduplicated).toBe(false)
    expect((await budget.status('dc')).tightest?.heldMicros).toBe(one)
    expect(await markers(name)).toEqual([])
  }, 30_000)

  it('with room for none, all three answer 402 and no marker is left', async () => {
    const name = h.name()
    const budget = budgetOn(one / 2 / 1e6, name)
    const qs = Array.from({ length: 3 }, () => h.queue({ name, budget }))
    const results = await Promise.allSettled(qs.map((q) => q.enqueue(job())))
    expect(results.map(codeOf)).toEqual(['BUDGET_EXCEEDED', 'BUDGET_EXCEEDED', 'BUDGET_EXCEEDED'])
    expect(await qs[0]?.queue.getWaitingCount()).toBe(0)
    expect(await markers(name)).toEqual([])
  }, 30_000)
})
