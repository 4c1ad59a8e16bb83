// A request that makes the queue open its pub/sub connection does not stay reachable afterwards.
import { randomUUID } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Context } from '@aikit/core'
import { runWithContext } from '@aikit/core/adapter'
import { redisStore } from '@aikit/core/redis'
import { createBudget } from '@aikit/cost'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

let h: Harness
beforeAll(async () => {
  h = await startHarness()
}, 30_000)
afterAll(() => h.close())

/** Whether `ref`'s target is garbage collected within a few forced collections. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 10))
    gc()
    if (ref.deref() === undefined) return true
  }
  return false
}

/** Runs `fn` in a request scope whose Context nothing else references; returns a WeakRef to it. */
async function inFinishedRequest(
  state: Record<string, unknown>,
  fn: () => Promise<unknown>
): Promise<WeakRef<object>> {
  const ctx = {
    state,
    signal: new AbortController().signal,
    payload: new Array(1000).fill('request data'),
  } as unknown as Context
  const ref = new WeakRef(ctx)
  await runWithContext(ctx, fn)
  return ref
}

/** Follows an unknown job: subscribes to its channel, then rejects with JobNotFoundError. */
async function followUnknown(queue: ReturnType<Harness['queue']>): Promise<void> {
  try {
    for await (const _ of queue.follow(randomUUID())) {
      // nothing: the job does not exist
    }
  } catch {
    // JobNotFoundError
  }
}

describe("a finished request's Context is not kept by the queue object", () => {
  // Promise: `currentContext()` "returns the running request's Context ... (AsyncLocalStorage;
  // undefined outside a request)" (packages/core/README.md:51-52): a request's Context belongs to
  // that request. The same follow made once the subscriber connection exists leaves the Context
  // collectable (checked), so a request that subscribes (sseHandler / `queue.follow`,
  // `queue.result`, `enqueue` with a budget) must not pin its Context for the queue's lifetime.
  // Before the fix: the first request that subscribes makes the queue open its pub/sub connection
  // (`connection.duplicate()`) inside that request's AsyncLocalStorage scope; the connection's
  // socket and timers capture the scope, so that request's Context (req/res, body, state) stays
  // reachable until `queue.close()` (weeks), and every callback of that connection (pub/sub
  // messages -> hold checks and settles) runs "inside" the long-finished request.
  // The cause was packages/queue/src/subscriber.ts:23-35 (`#connection()` creates the duplicate lazily,
  // on the first `subscribe`, in the caller's async context). Fix: open it at `createLlmQueue`, or
  // create it outside the caller's scope (a context captured at construction, e.g.
  // `AsyncResource.bind`, or `AsyncLocalStorage.exit`).
  it('lets the Context of the request that opened the subscriber connection be collected', async () => {
    const queue = h.queue()
    const ref = await inFinishedRequest({}, () => followUnknown(queue))
    expect(await collected(ref)).toBe(true)
  })
})

describe("a finished request's budgeted enqueue is not kept once its job ended", () => {
  // The holds' sweep timer is started by the first budgeted enqueue. Started in that request's
  // scope, it kept the request's Context reachable for the queue object's lifetime.
  it('lets the Context of the request that started the hold sweep be collected', async () => {
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: `rs${randomUUID().slice(0, 8)}` }),
      limits: [{ period: 'rolling', window: '1d', usd: 100 }],
    })
    const name = h.name()
    const queue = h.queue({ name, budget })
    h.worker({ name })
    // The pub/sub connection is opened outside any request first: only the sweep timer is left.
    await followUnknown(queue)
    let jobId = ''
    const ref = await inFinishedRequest({ subject: 'alice' }, async () => {
      jobId = (
        await queue.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'alice',
          params: messages('hold me'),
        })
      ).jobId
    })
    const result = await queue.result(jobId, { timeout: 10_000 })
    expect(result.text).toContain('hold me')
    expect(await collected(ref)).toBe(true)
  })
})

describe("a finished request's Context is not kept by the holds' sweep while other jobs are held", () => {
  // The sweep interval is cleared only once no hold is watched: under steady traffic (some job
  // always waiting or running) it lives on. Created lazily by the first budgeted enqueue inside
  // that request's scope (holds.ts, `this.#timer ??= setInterval(...)`), it kept that request's
  // Context reachable for as long as the queue stayed busy. It is now started in the context the
  // queue object was created in. Here request 1 enqueues job A (which starts the sweep); job B,
  // enqueued outside any request, is still running (its provider call is held) once A has ended
  // and its hold is released.
  it('lets the Context of the request that started the sweep be collected once its job ended', async () => {
    const budget = createBudget({
      store: redisStore(h.redis.client(), { prefix: `rs${randomUUID().slice(0, 8)}` }),
      limits: [{ period: 'rolling', window: '1d', usd: 100 }],
    })
    const name = h.name()
    const queue = h.queue({ name, budget })
    await followUnknown(queue) // the pub/sub connection, opened outside any request
    let jobA = ''
    const ref = await inFinishedRequest({ subject: 'alice' }, async () => {
      jobA = (
        await queue.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'alice',
          params: messages('job A'),
        })
      ).jobId
    })
    const jobB = (
      await queue.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'alice',
        params: messages('job B'),
      })
    ).jobId
    h.provider.reset()
    h.provider.failNext(1, { status: 400 }) // job A (first in line): fails for good, at once
    const heldB = h.provider.holdNext() // job B: its call waits
    h.worker({ name, concurrency: 1 })
    // A has failed for good and its hold is released (result() waits for that); B is still held.
    await expect(queue.result(jobA, { timeout: 10_000 })).rejects.toMatchObject({
      code: 'LLM_JOB_FAILED',
    })
    await heldB.reached
    try {
      expect(await collected(ref)).toBe(true)
    } finally {
      heldB.release()
      await queue.result(jobB, { timeout: 10_000 }).catch(() => undefined)
    }
  })
})
