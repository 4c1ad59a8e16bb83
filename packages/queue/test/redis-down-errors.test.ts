/**
 * A Redis outage seen from the queue object: its connection errors go to `onError` (never to the
 * console), and its calls reject with `@aikit/core`'s 503 `StoreUnavailableError` (ioredis's error
 * as its cause), so the HTTP handlers answer 503 with `Retry-After`, as the kit's stores do,
 * instead of a 500. Each test gets its own redis-server, killed for the outage.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { aikitErrorHandler, toExpress } from '@aikit/adapters/express'
import { type Middleware, StoreUnavailableError } from '@aikit/core'
import { createLlmQueue, type LlmQueue, sseHandler } from '@aikit/queue'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import express from 'express'
import type { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { messages, reconnectFailures } from './helpers.js'

let server: RedisServer | undefined
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
  await server?.stop()
  server = undefined
})

/** A queue whose BullMQ connection is up, on the README's client (`maxRetriesPerRequest: 1`). */
async function readyQueue(
  name: string,
  onError?: (error: Error) => void
): Promise<{ conn: Redis; queue: LlmQueue }> {
  server ??= await startRedis()
  const conn = server.client({ maxRetriesPerRequest: 1 })
  conn.on('error', () => {}) // the app's own listener, as the README says
  const queue = createLlmQueue({ connection: conn, name, ...(onError ? { onError } : {}) })
  closers.push(() => queue.close())
  await queue.queue.waitUntilReady()
  return { conn, queue }
}

const job = (subject: string) =>
  ({ provider: 'anthropic', api: 'messages', subject, params: messages('hi') }) as const

describe('Redis connection errors of a queue object', () => {
  // BullMQ's Queue re-emitted the client's errors with no listener of its own and then
  // console.error()ed each one: every failed reconnect printed an error and its stack to stderr.
  it('are never printed to the console', async () => {
    const { conn } = await readyQueue('quiet') // no onError: ignored
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {})
    await server!.kill()
    await reconnectFailures(conn, 3)
    expect(printed.mock.calls.map((args) => String(args[0]))).toEqual([])
  }, 30_000)

  it('go to onError', async () => {
    const seen: Error[] = []
    const { conn } = await readyQueue('noise', (error) => seen.push(error))
    await server!.kill()
    await reconnectFailures(conn, 3)
    // The first may be the killed connection's reset; the failed reconnects are refusals.
    expect(seen.some((error) => error.message.includes('ECONNREFUSED'))).toBe(true)
  }, 30_000)
})

describe('queue calls while Redis is down', () => {
  it('reject with a 503 StoreUnavailableError whose cause is the ioredis error', async () => {
    const { queue } = await readyQueue('calls')
    const { jobId } = await queue.enqueue(job('before'))
    await server!.kill()
    const failures = [
      await queue.enqueue(job('during')).catch((e: unknown) => e),
      await queue.result(jobId).catch((e: unknown) => e),
      await queue.subjectOf(jobId).catch((e: unknown) => e),
      await (async () => {
        for await (const _ of queue.follow(jobId));
      })().catch((e: unknown) => e),
    ]
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(StoreUnavailableError)
      expect(failure).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE', retryAfterMs: 1000 })
      // ioredis's own error: the command given up on, or (a call made while the client is in a
      // reconnection attempt) that attempt's failure.
      expect(String((failure as Error).cause)).toMatch(
        /MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|Connection is closed/
      )
    }
  }, 30_000)
})

describe('the HTTP handlers while Redis is down', () => {
  const servers: Server[] = []
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections()
      await new Promise((r) => s.close(r))
    }
  })

  const auth: Middleware = async (ctx, next) => {
    const user = ctx.header('x-user')
    if (user) ctx.state.subject = user
    await next()
  }

  /** The README's app: POST /jobs (a plain Express route) and the SSE route, errors as the kit's JSON. */
  async function app(queue: LlmQueue): Promise<string> {
    const a = express()
    a.use(express.json())
    a.post('/jobs', async (req, res) => {
      const { jobId } = await queue.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: String(req.headers['x-user']),
        params: { model: 'claude-haiku-4-5', max_tokens: 64, messages: req.body.messages },
      })
      res.status(202).json({ jobId })
    })
    a.get(
      '/jobs/:id/events',
      toExpress(auth, sseHandler({ queue, jobId: (ctx) => ctx.path.split('/')[2] }))
    )
    a.use(aikitErrorHandler())
    const s = createServer(a)
    servers.push(s)
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  }

  it('POST /jobs and the SSE route answer 503 with Retry-After, not 500', async () => {
    const { queue } = await readyQueue('http')
    const base = await app(queue)
    await server!.kill()
    const responses = [
      await fetch(`${base}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user': 'u1' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
      }),
      await fetch(`${base}/jobs/${randomUUID()}/events`, { headers: { 'x-user': 'u1' } }),
    ]
    for (const res of responses) {
      expect(res.status).toBe(503)
      expect(res.headers.get('retry-after')).toBe('1')
      expect(await res.json()).toEqual({
        error: { code: 'STORE_UNAVAILABLE', message: 'Service temporarily unavailable' },
      })
    }
  }, 30_000)
})
