/**
 * `maxRetryDelay` may be up to ~24.8 days, so a provider's `retry-after` may park a job for days.
 * Its run counter, log and meta key outlive the wait (they were kept only a day from the last
 * event: a job delayed 2 days could no longer be followed, and its next run restarted at run 1).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('a retry delay longer than a day', () => {
  it("keeps the job's run counter, log and meta key at least until its next attempt", async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 2 })
    h.worker({ name, maxRetryDelay: '3d' })
    h.provider.reset()
    const twoDays = 2 * 86_400
    h.provider.failNext(1, { status: 429, retryAfter: twoDays })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'slow',
      params: messages('see you in two days'),
    })
    const events: string[] = []
    const following = (async () => {
      for await (const e of q.follow(jobId)) {
        events.push(e.type)
        if (e.type === 'retry') return e
      }
    })()
    const retry = await following
    expect(retry).toMatchObject({ type: 'retry', delayMs: twoDays * 1000 })
    await vi.waitFor(async () => expect(await q.queue.getJobState(jobId)).toBe('delayed'), {
      timeout: 5000,
    })
    const c = h.redis.client()
    const base = `aikit:llmq:{${name}:${jobId}}`
    const ttl = {
      run: await c.pttl(`${base}:run`),
      log: await c.pttl(`${base}:log`),
      meta: await c.pttl(`${base}:meta`),
    }
    c.disconnect()
    const delay = twoDays * 1000
    expect({ run: ttl.run > delay, log: ttl.log > delay, meta: ttl.meta > delay, ttl }).toEqual({
      run: true,
      log: true,
      meta: true,
      ttl,
    })
  })
})
