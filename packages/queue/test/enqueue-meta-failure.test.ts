/**
 * An enqueue that fails part-way must leave no job that runs uncharged: the meta key is written
 * before `queue.add`, so once the job is in BullMQ nothing can fail and release its budget hold.
 * Here the meta write fails (a Redis blip): the enqueue rejects, nothing runs, nothing is held.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('enqueue whose meta write fails after the job was added', () => {
  it('either the job does not run, or its cost is charged', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: 'hm', commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const conn = h.redis.client()
    const realSet = conn.set.bind(conn) as (...a: unknown[]) => Promise<unknown>
    let failed = false
    ;(conn as unknown as { set: (...a: unknown[]) => Promise<unknown> }).set = (...args) => {
      if (!failed && String(args[0]).endsWith(':meta')) {
        failed = true
        return Promise.reject(new Error('Command timed out'))
      }
      return realSet(...args)
    }
    const q = h.queue({ name, budget, connection: conn })
    h.provider.reset()
    await expect(
      q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'zoe', params: messages('x') })
    ).rejects.toThrow('Command timed out')
    expect(failed).toBe(true)

    h.worker({ name, budget })
    // Give a worker time to pick up anything that was left in the queue.
    await new Promise((r) => setTimeout(r, 1500))
    const providerCalls = h.provider.count()
    const spent = (await budget.spend('zoe')).totalMicros
    // Correct: nothing ran (0 calls, 0 spend), or what ran was charged.
    expect({ providerCalls, charged: spent > 0 }).toEqual(
      providerCalls === 0 ? { providerCalls: 0, charged: false } : { providerCalls, charged: true }
    )
  })
})

describe('enqueue whose add fails after the meta key and the hold were written', () => {
  // The meta key is written before `queue.add`; an add that failed (a Redis blip, data BullMQ
  // could not serialise) released the hold but left the meta key naming a job that never existed.
  it('leaves neither the meta key nor a hold behind', async () => {
    const name = h.name()
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: 'ha', commandTimeoutMs: 5000 }),
      limits: [{ period: 'rolling', window: '1d', usd: 1 }],
    })
    const q = h.queue({ name, budget })
    const metaWrites: string[] = []
    const conn = h.redis.client()
    const seen = await conn.keys(`aikit:llmq:{${name}:*}:meta`)
    expect(seen).toEqual([])
    q.queue.add = async () => {
      metaWrites.push(...(await conn.keys(`aikit:llmq:{${name}:*}:meta`)))
      throw new Error('Command timed out')
    }
    await expect(
      q.enqueue({ provider: 'anthropic', api: 'messages', subject: 'ann', params: messages('y') })
    ).rejects.toThrow('Command timed out')
    expect(metaWrites.length).toBe(1) // it was written before the add
    expect(await conn.keys(`aikit:llmq:{${name}:*}:meta`)).toEqual([])
    expect((await budget.spend('ann')).heldMicros).toBe(0)
  })
})
