/**
 * `close(true)` (a deploy) while Redis is down returns without waiting for Redis: the running
 * job's hand-over move cannot be made, and QUIT on the worker's connection would wait behind it
 * until Redis came back, so the deploy hung. The job is not lost: once Redis is back, the next
 * worker's stalled-job check hands it over and runs it to the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  // Written to disk at every command: the jobs survive the outage (kill -9 and restart).
  h = await startHarness({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
})
afterAll(async () => {
  await h?.close()
})

describe('worker.close(true) while Redis is down', () => {
  it('returns while Redis is still down, without waiting out lockDuration for the hand-over', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 1 })
    // Longer than the test may run: a close that waits for the hand-over's move times out.
    const a = h.worker({ name, lockDuration: 120_000, onError: () => {} })
    h.provider.reset()
    const held = h.provider.holdStreamAfter(3)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'outage',
      params: messages('left for the stalled check'),
    })
    await held.reached
    await h.redis.kill()
    await a.close(true)
    held.release()
    await h.redis.restart()
    // Not lost: back to waiting if the move landed after all, else active for the next worker's
    // stalled check once its lock lapses.
    expect(['waiting', 'active']).toContain(await q.queue.getJobState(jobId))
  }, 20_000)

  it('returns while Redis is still down, and the next worker runs the job once Redis is back', async () => {
    const name = h.name()
    const q = h.queue({ name, attempts: 1 })
    const opts = { name, lockDuration: 2000, stalledInterval: 200, onError: () => {} }
    const a = h.worker(opts)
    h.provider.reset()
    const held = h.provider.holdStreamAfter(3)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'outage',
      params: messages('after the outage'),
    })
    await held.reached
    await h.redis.kill()
    // Redis comes back only after close returned: a close waiting for Redis never returns.
    await a.close(true)
    held.release()
    await h.redis.restart()
    h.worker(opts)
    expect(await q.result(jobId)).toMatchObject({ text: 'Echo: after the outage' })
    expect(h.provider.count('/v1/messages')).toBe(2)
  }, 30_000)
})
