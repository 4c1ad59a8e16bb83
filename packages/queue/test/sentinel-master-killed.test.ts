/**
 * The queue on Redis Sentinel when the master dies. The app's client is one the core README
 * advises (failoverDetector: true, connected again after an `end` it did not ask for: the
 * harness's `sentinel.client()`), as `redisStore` needs.
 * After the replica is promoted, new jobs run and can be followed again: the queue's and the
 * worker's own connections (`duplicate()`s of the app's client, which do not inherit its
 * reconnect-on-end) do not stay ended for good.
 */

import { wrapAnthropic } from '@aikit/llm/anthropic'
import { createLlmQueue, createLlmWorker } from '@aikit/queue'
import { type FakeProvider, startFakeProvider } from '@aikit/testing/fake-provider'
import { whenReady } from '@aikit/testing/redis'
import {
  type RedisSentinelWithReplicaHandle,
  startRedisSentinelWithReplica,
} from '@aikit/testing/sentinel'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { collect, lastRunText, messages } from './helpers.js'

let s: RedisSentinelWithReplicaHandle
let provider: FakeProvider
const closers: (() => Promise<unknown>)[] = []
beforeAll(async () => {
  ;[s, provider] = await Promise.all([startRedisSentinelWithReplica(), startFakeProvider()])
}, 60_000)
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined)
  await Promise.all([s?.stop(), provider?.close()])
}, 30_000)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

it('after the master is killed and the replica promoted, new jobs run and can be followed', async () => {
  const opts = {
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100,
    sentinelRetryStrategy: () => 100,
  }
  const qClient = s.client(opts)
  const wClient = s.client(opts)
  await Promise.all([whenReady(qClient), whenReady(wClient)])
  const queue = createLlmQueue({ connection: qClient, pollInterval: 200 })
  closers.push(() => queue.close())
  const anthropic = wrapAnthropic(
    new Anthropic({ apiKey: 'test-key', baseURL: provider.anthropicBaseURL, maxRetries: 0 })
  )
  const worker = createLlmWorker({
    connection: wClient,
    clients: { anthropic },
    lockDuration: 2000,
    stalledInterval: 2000,
  })
  closers.push(() => worker.close(true))

  const first = await queue.enqueue({
    provider: 'anthropic',
    api: 'messages',
    subject: 'u',
    params: messages('before'),
  })
  expect((await queue.result(first.jobId, { timeout: '10s' })).text).toContain('before')
  expect(lastRunText(await collect(queue.follow(first.jobId)))).toContain('before')

  await s.master.kill()
  const replica = `127.0.0.1:${s.replica.port}`
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && (await s.masterAddress().catch(() => '')) !== replica)
    await sleep(200)
  expect(await s.masterAddress()).toBe(replica)

  // The app's own clients are back on the new master.
  let lastError = ''
  let enqueued: { jobId: string } | undefined
  while (Date.now() < deadline + 15_000 && !enqueued) {
    enqueued = await queue
      .enqueue({ provider: 'anthropic', api: 'messages', subject: 'u', params: messages('after') })
      .catch((e: Error) => {
        lastError = e.message
        return undefined
      })
    if (!enqueued) await sleep(300)
  }
  expect(enqueued, lastError).toBeDefined()
  const outcome = await queue.result(enqueued!.jobId, { timeout: '40s' }).then(
    (r) => r.text,
    (e: Error) => `rejected: ${e.name}: ${e.message}`
  )
  expect(outcome).toContain('after')
  const followed = await collect(queue.follow(enqueued!.jobId)).then(
    (events) => lastRunText(events),
    (e: Error) => `follow rejected: ${e.name}: ${e.message}`
  )
  expect(followed).toContain('after')
}, 120_000)
