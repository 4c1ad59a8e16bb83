/**
 * The queue takes a single-node or Sentinel ioredis `Redis`; BullMQ's scripts on a Cluster touch
 * keys of several slots (every enqueue would fail with CROSSSLOT, a 500). A Cluster client is a bad
 * `connection`: `createLlmQueue` and `createLlmWorker` refuse it at construction with an
 * `InvalidOptionsError` naming `connection`.
 */
import { InvalidOptionsError } from '@aikit/core'
import { wrapAnthropic } from '@aikit/llm/anthropic'
import { createLlmQueue, createLlmWorker } from '@aikit/queue'
import { type RedisClusterHandle, startRedisCluster } from '@aikit/testing/redis'
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, expect, it } from 'vitest'

let cluster: RedisClusterHandle
beforeAll(async () => {
  cluster = await startRedisCluster()
}, 60_000)
afterAll(async () => {
  await cluster?.stop()
})

/** What `make` throws; whatever it made is closed. */
async function refusal(make: () => { close(force?: boolean): Promise<void> }): Promise<unknown> {
  try {
    const made = make()
    await made.close(true).catch(() => undefined)
    return undefined
  } catch (error) {
    return error
  }
}

it('createLlmQueue refuses an ioredis Cluster with InvalidOptionsError naming `connection`', async () => {
  const client = cluster.cluster()
  const error = await refusal(() => createLlmQueue({ connection: client as never }))
  expect(error).toBeInstanceOf(InvalidOptionsError)
  expect((error as InvalidOptionsError).field).toBe('connection')
  expect((error as Error).message).toMatch(/Cluster/)
}, 30_000)

it('createLlmWorker refuses an ioredis Cluster with InvalidOptionsError naming `connection`', async () => {
  const client = cluster.cluster()
  const anthropic = wrapAnthropic(
    new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', maxRetries: 0 })
  )
  const error = await refusal(() =>
    createLlmWorker({ connection: client as never, clients: { anthropic } })
  )
  expect(error).toBeInstanceOf(InvalidOptionsError)
  expect((error as InvalidOptionsError).field).toBe('connection')
}, 30_000)
