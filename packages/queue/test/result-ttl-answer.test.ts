/**
 * "Results are kept with a TTL": once `resultTtl` has passed, the answer is nowhere in Redis
 * (BullMQ copied the processor's return value, the whole answer, into its events stream, which
 * has no TTL; it now gets the job id only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

/** Every string value stored anywhere in Redis (strings, lists, hashes, streams). */
async function everythingStored(): Promise<string> {
  const c = h.redis.client()
  const keys = await c.keys('*')
  const out: string[] = []
  for (const k of keys) {
    const type = await c.type(k)
    if (type === 'string') out.push(`${k}=${await c.get(k)}`)
    else if (type === 'list') out.push(`${k}=${(await c.lrange(k, 0, -1)).join('|')}`)
    else if (type === 'hash') out.push(`${k}=${JSON.stringify(await c.hgetall(k))}`)
    else if (type === 'stream') out.push(`${k}=${JSON.stringify(await c.xrange(k, '-', '+'))}`)
  }
  c.disconnect()
  return out.join('\n')
}

describe('result TTL', () => {
  it('the answer is gone from Redis once resultTtl has passed', async () => {
    const name = h.name()
    const q = h.queue({ name, resultTtl: 300 })
    h.worker({ name })
    const secret = `answer-${Math.random().toString(36).slice(2)}`
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ttl',
      params: messages(secret),
    })
    const r = await q.result(jobId)
    expect(r.text).toContain(secret)
    await new Promise((resolve) => setTimeout(resolve, 800))
    await expect(q.result(jobId)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' })
    // Nothing else of the job's answer may outlive its TTL (BullMQ's events stream included).
    const stored = await everythingStored()
    const lines = stored.split('\n').filter((l) => l.includes(secret))
    expect(lines.map((l) => l.slice(0, 200))).toEqual([])
  })
})
