/**
 * `worker.close()` (not forced: the one a SIGTERM handler calls to let running jobs finish) while
 * Redis is down: it waits for the running jobs, then returns without waiting for Redis. BullMQ's
 * own close waits for its fetch of the next job and its blocking connection as well, which never
 * answer while Redis is down: the close never returned and Kubernetes ended the pod with SIGKILL
 * at the end of its grace period. Each test gets its own redis-server, killed and never restarted.
 */
import { wrapAnthropic } from '@aikit/llm/anthropic'
import { createLlmQueue, createLlmWorker } from '@aikit/queue'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import { afterEach, describe, expect, it } from 'vitest'
import { messages, outcome, reconnectFailures } from './helpers.js'

let server: RedisServer | undefined
let provider: FakeProvider | undefined
const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
  await Promise.all([server?.stop(), provider?.close()])
  server = undefined
  provider = undefined
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `settled` until it is no longer 'pending'; bounded by a number of attempts. */
async function settled(state: () => unknown): Promise<unknown> {
  for (let i = 0; i < 80 && state() === 'pending'; i++) await sleep(250)
  return state()
}

describe('worker.close() while Redis is down', () => {
  it('returns with no job running', async () => {
    server = await startRedis()
    const conn = server.client({ maxRetriesPerRequest: 1 })
    const worker = createLlmWorker({
      connection: conn,
      name: 'idle',
      clients: {
        anthropic: wrapAnthropic(
          new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', maxRetries: 0 })
        ),
      },
      onError: () => {},
    })
    closers.push(() => worker.close(true))
    await worker.worker.waitUntilReady()
    await server.kill()
    await reconnectFailures(conn, 1)
    expect(await settled(outcome(worker.close()))).toEqual({ resolved: undefined })
  }, 30_000)

  it('waits for the running job, then returns while Redis is still down', async () => {
    ;[server, provider] = await Promise.all([startRedis(), startFakeProvider()])
    // Reconnect attempts every 100 ms: the run's writes fail soon after it is released (with
    // ioredis's default backoff, each one would take seconds to give up).
    const conn = server.client({ maxRetriesPerRequest: 1, retryStrategy: () => 100 })
    const worker = createLlmWorker({
      connection: conn,
      name: 'busy',
      clients: {
        anthropic: wrapAnthropic(
          new Anthropic({ apiKey: 'k', baseURL: provider.anthropicBaseURL, maxRetries: 0 })
        ),
      },
      onError: () => {},
    })
    closers.push(() => worker.close(true))
    const queue = createLlmQueue({
      connection: server.client({ maxRetriesPerRequest: 1 }),
      name: 'busy',
    })
    closers.push(() => queue.close())
    const held = provider.holdStreamAfter(3)
    await queue.enqueue({
      provider: 'anthropic',
      api: 'messages',
      subject: 'sigterm',
      params: messages('finish me'),
    })
    await held.reached
    await server.kill()
    const closed = outcome(worker.close())
    // Longer than the close waits for Redis once no run is left: the run is still going.
    await sleep(7000)
    expect(closed()).toBe('pending')
    held.release()
    expect(await settled(closed)).toEqual({ resolved: undefined })
  }, 40_000)
})
