/**
 * `queue.close()`: the followers and `result()` waiters still running reject with
 * `QueueClosedError` at once (they would otherwise poll forever on the caller's connection), and a
 * closed queue object refuses further work instead of opening a new Redis connection.
 */
import { QueueClosedError } from '@aikit/queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobKeys } from '../src/keys.js'
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

describe('queue.close() while no follower is parked in its wait (pollInterval 1h)', () => {
  it('a follower whose consumer holds an event as the queue closes rejects at its next step', async () => {
    const name = h.name()
    const q = h.queue({ name, pollInterval: '1h' })
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'f',
      params: messages('nobody runs me'),
    })
    // The job's run has started (as a worker's RunLog would write it): one event in the log.
    const keys = jobKeys('aikit', name, jobId)
    await h.redis
      .client()
      .rpush(keys.log, JSON.stringify({ type: 'start', id: '1.0', run: 1, seq: 0 }))
    const it = q.follow(jobId)[Symbol.asyncIterator]()
    const first = await it.next()
    expect(first.value?.type).toBe('start')
    // The consumer is busy with that event (e.g. writing it to an SSE response) as the queue closes.
    await q.close()
    const next = it.next().then(
      () => 'resolved',
      (e: unknown) => e
    )
    expect(await within3s(next)).toBeInstanceOf(QueueClosedError)
  })

  /**
   * A queue on a connection whose `LRANGE` (the follower's log read) can be held: `reading`
   * resolves when a read is held, `release()` lets it go on.
   */
  const queueWithHeldLogRead = (name: string) => {
    const connection = h.redis.client()
    const lrange = connection.lrange.bind(connection) as (...args: unknown[]) => Promise<string[]>
    let held = false
    let onRead!: () => void
    let release!: () => void
    const reading = new Promise<void>((r) => {
      onRead = r
    })
    const released = new Promise<void>((r) => {
      release = r
    })
    const hold = () => {
      held = true
    }
    ;(connection as unknown as { lrange: unknown }).lrange = async (...args: unknown[]) => {
      if (held) {
        held = false
        onRead()
        await released
      }
      return lrange(...args)
    }
    const q = h.queue({ name, pollInterval: '1h', connection })
    return { q, hold, reading, release }
  }

  it('a result() waiter whose log re-read is under way as the queue closes rejects at once', async () => {
    const name = h.name()
    const { q, hold, reading, release } = queueWithHeldLogRead(name)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'r',
      params: messages('nobody runs me'),
    })
    hold()
    const waiting = q.result(jobId).catch((e: unknown) => e)
    await reading
    await q.close()
    release()
    const outcome = await within3s(waiting)
    expect(outcome).toBeInstanceOf(QueueClosedError)
    expect(outcome).toMatchObject({ code: 'QUEUE_CLOSED', status: 503 })
  })

  it('a follower whose log re-read is under way as the queue closes rejects at once, yielding nothing', async () => {
    const name = h.name()
    const { q, hold, reading, release } = queueWithHeldLogRead(name)
    const { jobId } = await q.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'r2',
      params: messages('nobody runs me'),
    })
    // A run has started: the read under way at close() returns this event, which is not yielded.
    const keys = jobKeys('aikit', name, jobId)
    await h.redis
      .client()
      .rpush(keys.log, JSON.stringify({ type: 'start', id: '1.0', run: 1, seq: 0 }))
    hold()
    const seen: string[] = []
    const following = (async () => {
      for await (const e of q.follow(jobId)) seen.push(e.type)
      return 'ended'
    })().catch((e: unknown) => e)
    await reading
    await q.close()
    release()
    expect(await within3s(following)).toBeInstanceOf(QueueClosedError)
    expect(seen).toEqual([])
  })
})
