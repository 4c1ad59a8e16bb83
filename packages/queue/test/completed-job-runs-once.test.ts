/**
 * A job that ends (completes, or fails for good) as its worker closes never runs again. BullMQ
 * drops a job's completion when its worker's connection is already closing: the job then stays
 * active, its lock lapses, and the stalled check would hand it to another worker, which called the
 * provider a second time (and, after a published failure, could publish a result that contradicts
 * it).
 */
import { redisStore } from '@aikit/core/redis'
import { type Budget, createBudget, priceOf, type Reservation } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { collect, type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

/**
 * The real budget, whose restored holds stop before `settle` / `release` until `open()`: the job's
 * run is then over (the provider answered or failed) but not yet ended.
 */
function gatedBudget(budget: Budget, method: 'settle' | 'release') {
  let onReached!: () => void
  let open!: () => void
  const reached = new Promise<void>((r) => {
    onReached = r
  })
  const opened = new Promise<void>((r) => {
    open = r
  })
  const gate = (reservation: Reservation): Reservation =>
    new Proxy(reservation, {
      get(target, key) {
        const value = Reflect.get(target, key, target)
        if (typeof value !== 'function') return value
        if (key !== method) return value.bind(target)
        return async (...args: unknown[]) => {
          onReached()
          await opened
          return value.apply(target, args)
        }
      },
    })
  const gated: Budget = { ...budget, restore: (handle) => gate(budget.restore(handle)) }
  return { budget: gated, reached, open }
}

const budgetNamed = (prefix: string) =>
  createBudget({
    store: redisStore(h.redis.client(), { prefix, commandTimeoutMs: 5000 }),
    limits: [{ period: 'rolling', window: '1d', usd: 1 }],
  })

const gone = async (q: ReturnType<Harness['queue']>, jobId: string) =>
  vi.waitFor(async () => expect(await q.queue.getJobState(jobId)).toBe('unknown'), {
    timeout: 15_000,
    interval: 100,
  })

describe('a job that ends as its worker is force-closed', () => {
  it('a job that completes during close(true) is recorded as completed and never runs again', async () => {
    const name = h.name()
    const budget = budgetNamed('ends-complete')
    const q = h.queue({ name, budget })
    const gated = gatedBudget(budget, 'settle')
    const opts = { name, lockDuration: 2000, stalledInterval: 200 }
    const a = h.worker({ ...opts, budget: gated.budget })
    h.provider.reset()
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'ends',
      params: messages('completed once'),
    })
    const seen = collect(h.queue({ name }).follow(jobId))
    await gated.reached // the provider answered; the worker is about to settle and publish
    const closed = a.close(true)
    gated.open()
    await closed
    h.worker({ ...opts, budget }) // the next instance comes up
    const result = await q.result(jobId)
    expect(result).toMatchObject({ text: 'Echo: completed once', attempts: 1 })
    await gone(q, jobId)
    expect(h.provider.count('/v1/messages')).toBe(1)
    const events = await seen
    expect(events.filter((e) => e.type === 'start').map((e) => e.run)).toEqual([1])
    expect(events.at(-1)).toMatchObject({ type: 'done', run: 1 })
    const spend = await budget.spend('ends')
    expect(spend.totalMicros).toBe(priceOf(result.model, result.usage))
    expect(spend.heldMicros).toBe(0)
  })

  it('a job that fails for good during close(true) is recorded as failed and never runs again', async () => {
    const name = h.name()
    const budget = budgetNamed('ends-failed')
    const q = h.queue({ name, budget })
    const gated = gatedBudget(budget, 'release')
    const opts = { name, lockDuration: 2000, stalledInterval: 200 }
    const a = h.worker({ ...opts, budget: gated.budget })
    h.provider.reset()
    h.provider.failNext(1, { status: 400 }) // a request error: fails at once, not retried
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'fails',
      params: messages('failed once'),
    })
    const seen = collect(h.queue({ name }).follow(jobId))
    await gated.reached // the provider refused; the worker is about to release and publish
    const closed = a.close(true)
    gated.open()
    await closed
    h.worker({ ...opts, budget })
    await expect(q.result(jobId)).rejects.toMatchObject({
      code: 'LLM_JOB_FAILED',
      details: { status: 400 },
    })
    await gone(q, jobId)
    expect(h.provider.count('/v1/messages')).toBe(1)
    const events = await seen
    expect(events.filter((e) => e.type === 'start').map((e) => e.run)).toEqual([1])
    expect(events.at(-1)).toMatchObject({ type: 'error', run: 1, error: { status: 400 } })
    const spend = await budget.spend('fails')
    expect(spend.totalMicros).toBe(0)
    expect(spend.heldMicros).toBe(0)
  })
})

describe('a job whose completion BullMQ did not record', () => {
  it('is not run again: the worker that takes it over ends it with the stored result', async () => {
    const name = h.name()
    const q = h.queue({ name })
    const opts = { name, lockDuration: 2000, stalledInterval: 200 }
    const a = h.worker(opts)
    h.provider.reset()
    const held = h.provider.holdStreamAfter(3)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'lost-completion',
      params: messages('answered once'),
    })
    const seen = collect(h.queue({ name }).follow(jobId))
    await held.reached
    // BullMQ's own worker closes under the run (its connection with it): the run goes on and
    // completes, but BullMQ no longer records the completion, so the job stays active.
    await a.worker.close(true)
    held.release()
    expect(await q.result(jobId)).toMatchObject({ text: 'Echo: answered once', attempts: 1 })
    expect(await q.queue.getJobState(jobId)).toBe('active')
    h.worker(opts) // its stalled check takes the job over
    await gone(q, jobId)
    expect(h.provider.count('/v1/messages')).toBe(1)
    const events = await seen
    expect(events.filter((e) => e.type === 'start').map((e) => e.run)).toEqual([1])
    expect(await q.result(jobId)).toMatchObject({ text: 'Echo: answered once', attempts: 1 })
  })
})
