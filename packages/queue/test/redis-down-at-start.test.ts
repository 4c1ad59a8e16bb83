/**
 * A queue or worker made while its Redis is not reachable yet (a pod starting before Redis, or
 * during an outage), with the client the README prescribes (`maxRetriesPerRequest: 1`): its calls
 * fail as the client's own commands do instead of waiting for Redis, and everything works once
 * Redis is up, `lazyConnect` clients included. Each test gets its own redis-server, killed to
 * stand for "not reachable yet".
 */
import { wrapAnthropic } from '@aikit/llm/anthropic'
import { createLlmQueue, createLlmWorker } from '@aikit/queue'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import { afterEach, describe, expect, it } from 'vitest'
import { messages, outcome, reconnectFailures } from './helpers.js'

let server: RedisServer | undefined
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
  await server?.stop()
  server = undefined
})

/** A provider nobody listens on: a job taken fails at once (a connection error; `attempts: 1`). */
const unreachableAnthropic = () =>
  wrapAnthropic(new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', maxRetries: 0 }))

describe('a queue made while Redis is not reachable yet', () => {
  // BullMQ's first command waits for the client's 'ready' with no bound: every POST /jobs of a pod
  // that started before Redis answered hung for as long as Redis stayed away, where the same
  // client's own commands (and the queue's result()) failed at once.
  it("enqueue() fails like the client's own commands (503 STORE_UNAVAILABLE), and works once Redis is up", async () => {
    server = await startRedis()
    await server.kill()
    const conn = server.client({ maxRetriesPerRequest: 1 })
    const queue = createLlmQueue({ connection: conn, name: 'startup' })
    closers.push(() => queue.close())
    const job = {
      provider: 'anthropic',
      api: 'messages',
      subject: 'pod-start',
      params: messages('before Redis answered'),
    } as const
    const enqueued = outcome(queue.enqueue(job))
    // The same client fails a plain command: Redis is known to be unreachable.
    expect(await conn.get('anything').catch((error: Error) => error.name)).toBe(
      'MaxRetriesPerRequestError'
    )
    // Several more failed reconnects later, the enqueue has settled: it does not wait for Redis.
    await reconnectFailures(conn, 6)
    expect(enqueued()).not.toBe('pending')
    const { rejected } = enqueued() as { rejected: Error & { status?: number; code?: string } }
    expect(rejected).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' })
    // The cause is the client's own: its failed connection attempt (or, past it, the PING's
    // MaxRetriesPerRequestError).
    expect(String(rejected.cause)).toMatch(/ECONNREFUSED|MaxRetriesPerRequest/)

    await server.restart()
    await whenReady(conn)
    expect(await queue.enqueue(job)).toMatchObject({ deduplicated: false })
  }, 30_000)
})

describe('a lazyConnect client, with Redis not reachable yet when the queue or worker is made', () => {
  // With `lazyConnect: true` (status 'wait' until its first command), BullMQ's start-up made one
  // connect() attempt; when it failed, BullMQ kept that rejection as its connection for good:
  // "Connection is closed." for every enqueue after Redis came back.
  it('enqueue() works once Redis is back', async () => {
    server = await startRedis()
    await server.kill()
    const conn = server.client({ maxRetriesPerRequest: 1, lazyConnect: true })
    const queue = createLlmQueue({ connection: conn, name: 'lazy-queue' })
    closers.push(() => queue.close())
    await reconnectFailures(conn, 1)
    await server.restart()
    await whenReady(conn)
    const enqueued = await queue
      .enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 'lazy',
        params: messages('after Redis came up'),
      })
      .catch((error: Error) => `${error.name}: ${error.message}`)
    expect(enqueued).toMatchObject({ deduplicated: false })
  }, 30_000)

  // The worker's BullMQ connection is a duplicate of the client: it inherited `lazyConnect`, and
  // with it the one failed connect kept for good (`isRunning()` true, no job ever taken).
  it('a worker made then runs jobs once Redis is back', async () => {
    server = await startRedis()
    await server.kill()
    const conn = server.client({ maxRetriesPerRequest: 1, lazyConnect: true })
    let failedOnce!: () => void
    const connectFailed = new Promise<void>((resolve) => {
      failedOnce = resolve
    })
    const worker = createLlmWorker({
      connection: conn,
      name: 'lazy-worker',
      clients: { anthropic: unreachableAnthropic() },
      onError: () => failedOnce(), // its connection's first failed connect
    })
    closers.push(() => worker.close(true))
    await connectFailed
    await server.restart()
    const queue = createLlmQueue({
      connection: server.client({ maxRetriesPerRequest: 1 }),
      name: 'lazy-worker',
      attempts: 1,
    })
    closers.push(() => queue.close())
    const { jobId } = await queue.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'lazy',
      params: messages('picked up?'),
    })
    // A worker that takes the job fails it for good at once (the provider is unreachable,
    // `attempts: 1`): result() rejects with JobFailedError. One that never takes it leaves
    // result() waiting until its timeout.
    const result = await queue.result(jobId, { timeout: 10_000 }).catch((error: Error) => error)
    expect(result).toMatchObject({ name: 'JobFailedError' })
  }, 30_000)
})
