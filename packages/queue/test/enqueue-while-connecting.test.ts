/**
 * A healthy start-up, Redis up all along: the client is still connecting when the first enqueue
 * comes (a cold start serving its first request, a module that creates client and queue at
 * import). The enqueue waits for the connection attempt instead of failing it with a 503.
 */
import { createLlmQueue } from '@aikit/queue'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { messages } from './helpers.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(() => server.stop())

const job = (text: string) =>
  ({ provider: 'anthropic', api: 'messages', subject: 'cold', params: messages(text) }) as const

describe('a client still connecting to a Redis that is up', () => {
  // BullMQ's own docs recommend `enableOfflineQueue: false` for a Queue's connection (fail fast
  // during an outage). Then the PING sent first while the client is 'connecting' rejects at once
  // ("Stream isn't writeable..."): the first enqueue of every start-up is a 503, though Redis is up
  // and answers a few milliseconds later.
  it('enqueue() right after createLlmQueue succeeds with enableOfflineQueue: false', async () => {
    const conn = server.client({ enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    const queue = createLlmQueue({ connection: conn, name: `cold${Date.now()}` })
    try {
      expect(conn.status).not.toBe('ready')
      const enqueued = await queue
        .enqueue(job('first request after boot'))
        .catch(
          (error: Error & { code?: string }) => `${error.name} ${error.code}: ${error.message}`
        )
      expect(enqueued).toMatchObject({ deduplicated: false })
    } finally {
      await queue.close()
    }
  })

  // Default client (offline queue on): the PING waits in the offline queue and the enqueue works.
  it('enqueue() right after createLlmQueue succeeds with the default client', async () => {
    const conn = server.client({ maxRetriesPerRequest: 1 })
    const queue = createLlmQueue({ connection: conn, name: `cold${Date.now()}` })
    try {
      expect(conn.status).not.toBe('ready')
      expect(await queue.enqueue(job('default client'))).toMatchObject({ deduplicated: false })
    } finally {
      await queue.close()
    }
  })
})
