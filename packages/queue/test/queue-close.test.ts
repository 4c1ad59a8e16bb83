/**
 * `queue.close()`: the followers and `result()` waiters still running reject with
 * `QueueClosedError` at once (they would otherwise poll forever on the caller's connection), and a
 * closed queue object refuses further work instead of opening a new Redis connection.
 */
import { QueueClosedError } from '@aikit/queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h?.close()
})

/** `p`'s outcome, or `'still waiting'` when it has not settled within 3 s. */
const within3s = <T>(p: Promise<T>): Promise<T | 'still waiting'> =>
  Promise.race([p, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 3000))])

describe('queue.close() with followers and result() waiters still running', () => {
  it('a follower of a waiting job rejects with QueueClosedError once its queue is closed', async () => {
    const name = h.name()
    const q = h.queue({ name, pollInterval: 100 })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'c',
      params: messages('nobody runs me'),
    })
    const seen: string[] = []
    const following = (async () => {
      for await (const e of q.follow(jobId)) seen.push(e.type)
      return 'ended'
    })().catch((e: unknown) => e)
    const waiting = q.result(jobId).catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 300))
    await q.close()
    const [followed, result] = await Promise.all([within3s(following), within3s(waiting)])
    expect(followed).toBeInstanceOf(QueueClosedError)
    expect(result).toBeInstanceOf(QueueClosedError)
    expect(followed).toMatchObject({ code: 'QUEUE_CLOSED', status: 503 })
    expect(seen).toEqual([]) // nothing ran: no event was invented
  })
})

describe('a queue used after close()', () => {
  it('follow(), result() and enqueue() reject with QueueClosedError and open no Redis connection', async () => {
    const name = h.name()
    const q = h.queue({ name, pollInterval: 100 })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'c2',
      params: messages('closed queue'),
    })
    await q.close()
    const admin = h.redis.client()
    const clients = async () =>
      String(await admin.client('LIST'))
        .trim()
        .split('\n').length
    const before = await clients()
    const ac = new AbortController()
    const followed = q.follow(jobId, { signal: ac.signal })[Symbol.asyncIterator]().next()
    await expect(within3s(followed)).rejects.toBeInstanceOf(QueueClosedError)
    await expect(q.result(jobId)).rejects.toBeInstanceOf(QueueClosedError)
    await expect(
      q.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'c2',
        params: messages('after close'),
      })
    ).rejects.toBeInstanceOf(QueueClosedError)
    await new Promise((r) => setTimeout(r, 300))
    const after = await clients()
    ac.abort()
    admin.disconnect()
    expect(after).toBe(before)
    // Another queue object still sees the job (closing a queue object does not touch its jobs).
    expect(await h.queue({ name }).subjectOf(jobId)).toBe('c2')
  })
})
