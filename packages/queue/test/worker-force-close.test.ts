/**
 * A worker force-closed (`close(true)`, a deploy) while it runs a job on its last attempt hands the
 * job over: nothing is published as failed, the hold is not released, and the next worker runs it
 * to the end, charged once. The job goes straight back to waiting, so the hand-over is not a stall:
 * it works with `maxStalledCount: 0` too.
 */
import { redisStore } from '@aikit/core/redis'
import { createBudget, priceOf } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, type Harness, lastRunText, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('worker.close(true) while a job runs its last attempt', () => {
  it.each([
    ['the default maxStalledCount', {}],
    ['maxStalledCount: 0 (a stall fails the job)', { maxStalledCount: 0 }],
  ])(
    'the job is handed over with %s: no failure is published, the next worker completes it, charged once',
    async (_, stalls) => {
      const name = h.name()
      const budget = createBudget({
        store: redisStore(h.redis.client(), { prefix: name, commandTimeoutMs: 5000 }),
        limits: [{ period: 'rolling', window: '1d', usd: 1 }],
      })
      const q = h.queue({ name, attempts: 1, budget })
      const browser = h.queue({ name }) // another instance, following
      const opts = { name, lockDuration: 2000, stalledInterval: 200, budget, ...stalls }
      const a = h.worker(opts)
      h.provider.reset()
      const held = h.provider.holdStreamAfter(3)
      const { jobId } = await q.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'deploy',
        params: messages('hand me over'),
      })
      const seen = collect(browser.follow(jobId))
      await held.reached
      await a.close(true) // the deploy
      const firstOutcome = q.result(jobId).then(
        (r) => r.text,
        (e: { code?: string }) => e.code
      )
      // The next instance comes up.
      h.worker(opts)
      expect(await firstOutcome).toBe('Echo: hand me over')
      await vi.waitFor(async () => expect(await q.queue.getJobState(jobId)).toBe('unknown'), {
        timeout: 15_000,
        interval: 100,
      })
      const final = await q.result(jobId)
      expect(final).toMatchObject({ text: 'Echo: hand me over' })
      expect(h.provider.count('/v1/messages')).toBe(2)
      const events = await seen
      expect(events.filter((e) => e.type === 'error')).toEqual([])
      expect(events.filter((e) => e.type === 'start').map((e) => e.run)).toEqual([1, 2])
      expect(events.at(-1)).toMatchObject({ type: 'done', run: 2 })
      expect(lastRunText(events)).toBe('Echo: hand me over')
      const spend = await budget.spend('deploy')
      expect(spend.totalMicros).toBe(priceOf(final.model, final.usage))
      expect(spend.totalMicros).toBeGreaterThan(0)
      expect(spend.heldMicros).toBe(0)
    }
  )
})
