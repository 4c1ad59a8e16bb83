/**
 * A job's meta key (its subject: what `sseHandler` reads first, and what `follow` checks before the
 * job has events) lives as long as the job can be followed: through a long wait in the queue, while
 * the job runs (renewed with the run's log), and then as long as the log and the result.
 * Before: its TTL was set at enqueue (`max(holdTtl, 1h) + resultTtl`, 2 h by default) and renewed
 * only at the end, while the log of a running job lives at least a day: a job that waited and ran
 * longer was answered 404 JOB_NOT_FOUND by sseHandler while its log was still being written.
 * Checked as TTLs (no waiting hours).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobKeys } from '../src/keys.js'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
}, 30_000)
afterAll(async () => {
  await h?.close()
})

const DAY_MS = 86_400_000

/** Waits (bounded) until the run's `start` is logged: the log then has its running TTL. */
async function runningLogTtl(log: string): Promise<number> {
  const redis = h.redis.client()
  for (let i = 0; i < 250; i++) {
    const ttl = await redis.pttl(log)
    if (ttl > 0) return ttl
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error('the run never logged its start')
}

describe("a job's meta key lives as long as the job can be followed", () => {
  it('a waiting job’s meta key lives at least as long as a running log (a day)', async () => {
    const name = h.name()
    const q = h.queue({ name })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'backlog',
      params: messages('waits behind a long backlog'),
    })
    expect(await h.redis.client().pttl(jobKeys('aikit', name, jobId).meta)).toBeGreaterThan(DAY_MS)
  })

  it('while the job streams, its meta key is renewed with its log and does not expire first', async () => {
    const name = h.name()
    const q = h.queue({ name })
    const redis = h.redis.client()
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'long',
      params: messages('a long answer, token after token'),
    })
    const keys = jobKeys('aikit', name, jobId)
    // As after a long wait in the queue: little of the meta key's lifetime is left.
    await redis.pexpire(keys.meta, 600_000)
    h.provider.reset()
    const held = h.provider.holdStreamAfter(4) // the job is running, tokens written
    h.worker({ name })
    await held.reached
    let logTtl: number
    let metaTtl: number
    try {
      await runningLogTtl(keys.log)
      // Meta read first: renewed in the log's MULTI, it has the log's deadline (not an earlier one).
      metaTtl = await redis.pttl(keys.meta)
      logTtl = await redis.pttl(keys.log)
    } finally {
      held.release()
    }
    await q.result(jobId, { timeout: 10_000 })
    expect(logTtl).toBeGreaterThan(23 * 3_600_000) // the running log lives a day
    expect(metaTtl).toBeGreaterThanOrEqual(logTtl)
  })

  // A guard (the end already gave the meta key the result's TTL): it expires with them, neither
  // before (404 for an answer still stored) nor after (a follower would report the job lost).
  it('once the job ended, its meta key expires with its log and its result', async () => {
    const name = h.name()
    const q = h.queue({ name, resultTtl: '1h' })
    const redis = h.redis.client()
    h.provider.reset()
    h.worker({ name })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ended',
      params: messages('short answer'),
    })
    await q.result(jobId, { timeout: 10_000 })
    const keys = jobKeys('aikit', name, jobId)
    const metaTtl = await redis.pttl(keys.meta) // read first: the same deadline reads no less
    const logTtl = await redis.pttl(keys.log)
    const resultTtl = await redis.pttl(keys.result)
    expect(logTtl).toBeGreaterThan(0)
    expect(metaTtl).toBeLessThanOrEqual(3_600_000)
    expect(metaTtl).toBeGreaterThanOrEqual(Math.max(logTtl, resultTtl))
    expect(await q.subjectOf(jobId)).toBe('ended')
  })
})
