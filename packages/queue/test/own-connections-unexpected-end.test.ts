/**
 * The connections the queue and the worker open themselves (`duplicate()`s of the app's client:
 * the queue's pub/sub connection, the worker's BullMQ connections) are connected again after an
 * `'end'` they did not ask for, as ioredis 6's Sentinel failover detector causes after a master
 * crash (see sentinel-master-killed.test.ts for the real thing): new jobs still run and can be
 * followed. One the queue or the worker closed (`close()`) stays closed.
 *
 * The unexpected end is made the way ioredis makes it: its own `disconnect()` (the prototype's,
 * not a call on the connection), whose "closed on purpose" flag ioredis clears before `'end'`.
 */

import type { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { collect, type Harness, lastRunText, messages, startHarness } from './helpers.js'

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  vi.restoreAllMocks()
  await h?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Records the `duplicate()`s made of `client` and of those (BullMQ's own ones too). */
function recordDuplicates(client: Redis): Redis[] {
  const made: Redis[] = []
  const proto = Object.getPrototypeOf(client) as Redis
  const duplicate = proto.duplicate
  vi.spyOn(proto, 'duplicate').mockImplementation(function (this: Redis, ...args) {
    const d = duplicate.apply(this, args)
    if (this === client || made.includes(this)) made.push(d)
    return d
  })
  return made
}

/** Ends `conn` as ioredis's failover detector does: not through the connection's own methods. */
async function endBehindItsBack(conn: Redis): Promise<void> {
  const ended = new Promise((resolve) => conn.once('end', resolve))
  Object.getPrototypeOf(conn).disconnect.call(conn)
  await ended
}

const ask = (text: string) =>
  ({ provider: 'anthropic', api: 'messages', subject: 'u', params: messages(text) }) as const

/** The job's text, or why `result()` rejected. */
const textOf = (queue: ReturnType<Harness['queue']>, jobId: string) =>
  // BullMQ waits 15 s (its runRetryDelay) before fetching again after a fetch failed.
  queue.result(jobId, { timeout: '40s' }).then(
    (r) => r.text,
    (e: Error) => `rejected: ${e.name}: ${e.message}`
  )

it('after its pub/sub connection ended unexpectedly, the queue follows new jobs', async () => {
  const name = h.name()
  const worker = h.worker({ name })
  const client = h.redis.client()
  const made = recordDuplicates(client)
  const queue = h.queue({ name, connection: client })
  const first = await queue.enqueue(ask('before'))
  expect((await queue.result(first.jobId, { timeout: '10s' })).text).toContain('before')
  vi.restoreAllMocks()
  expect(made).toHaveLength(1)
  await Promise.all(made.map(endBehindItsBack))

  const second = await queue.enqueue(ask('after'))
  expect(await textOf(queue, second.jobId)).toContain('after')
  expect(lastRunText(await collect(queue.follow(second.jobId)))).toContain('after')
  await Promise.all([queue.close(), worker.close(true)])
}, 90_000)

it("after the worker's connections ended unexpectedly, it runs new jobs", async () => {
  const name = h.name()
  const client = h.redis.client()
  const made = recordDuplicates(client)
  const worker = h.worker({ name, connection: client })
  const queue = h.queue({ name })
  const first = await queue.enqueue(ask('before'))
  expect((await queue.result(first.jobId, { timeout: '10s' })).text).toContain('before')
  vi.restoreAllMocks()
  // The worker's connection and BullMQ's blocking one.
  expect(made).toHaveLength(2)
  await Promise.all(made.map(endBehindItsBack))

  const second = await queue.enqueue(ask('after'))
  expect(await textOf(queue, second.jobId)).toContain('after')
  await Promise.all([queue.close(), worker.close(true)])
}, 90_000)

it('a connection the queue or the worker closed stays closed', async () => {
  const name = h.name()
  const client = h.redis.client()
  const made = recordDuplicates(client)
  const queue = h.queue({ name, connection: client })
  const worker = h.worker({ name, connection: client })
  const { jobId } = await queue.enqueue(ask('once'))
  expect((await queue.result(jobId, { timeout: '10s' })).text).toContain('once')
  vi.restoreAllMocks()
  // The queue's pub/sub connection, the worker's connection and BullMQ's blocking one.
  expect(made).toHaveLength(3)
  await Promise.all([queue.close(), worker.close()])
  // Time for a reconnect (none expected) to begin.
  await sleep(500)
  expect(made.map((c) => c.status)).toEqual(made.map(() => 'end'))
}, 30_000)
