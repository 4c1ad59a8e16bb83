/**
 * A Sentinel ioredis client without `failoverDetector: true` keeps writing to the old master after
 * a failover: the writes it gets acknowledged there (a job added, a result stored, a log event) are
 * wiped when that one resyncs as a replica. As `redisStore` does, `createLlmQueue` and
 * `createLlmWorker` refuse such a client (`InvalidOptionsError` naming `connection`), and take one
 * with the detector, with which a job enqueued right after a `SENTINEL FAILOVER` is kept.
 */
import { InvalidOptionsError } from '@aikit/core'
import { createLlmQueue, createLlmWorker } from '@aikit/queue'
import { rawCommand, whenReady } from '@aikit/testing/redis'
import {
  type RedisSentinelHandle,
  startRedisSentinel,
  startRedisSentinelWithReplica,
} from '@aikit/testing/sentinel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, messages, startHarness } from './helpers.js'

let sentinel: RedisSentinelHandle
let h: Harness
beforeAll(async () => {
  ;[sentinel, h] = await Promise.all([startRedisSentinel(), startHarness()])
}, 60_000)
afterAll(async () => {
  await Promise.all([sentinel?.stop(), h?.close()])
})

/** What `make` throws; whatever it made is closed. */
const errorOf = (make: () => { close(force?: boolean): Promise<void> }): unknown => {
  try {
    void make()
      .close(true)
      .catch(() => undefined)
    return undefined
  } catch (error) {
    return error
  }
}

describe('a Sentinel client without failoverDetector', () => {
  it('createLlmQueue refuses it with InvalidOptionsError naming `connection`', () => {
    const client = sentinel.client({ failoverDetector: false })
    const error = errorOf(() => createLlmQueue({ connection: client }))
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('connection')
    expect((error as Error).message).toMatch(/failoverDetector/)
  })

  it('createLlmWorker refuses it with InvalidOptionsError naming `connection`', () => {
    const client = sentinel.client({ failoverDetector: false })
    const error = errorOf(() =>
      createLlmWorker({ connection: client, clients: { anthropic: h.anthropic() } })
    )
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).field).toBe('connection')
    expect((error as Error).message).toMatch(/failoverDetector/)
  })
})

describe('a Sentinel client with failoverDetector: true', () => {
  it('is taken by createLlmQueue and createLlmWorker', async () => {
    const q = createLlmQueue({ connection: sentinel.client() })
    const w = createLlmWorker({
      connection: sentinel.client(),
      clients: { anthropic: h.anthropic() },
    })
    await Promise.all([q.close(), w.close(true)])
  })

  it('keeps a job enqueued right after a SENTINEL FAILOVER (it is on the new master)', async () => {
    const s = await startRedisSentinelWithReplica()
    try {
      const client = s.client()
      await whenReady(client)
      const queue = createLlmQueue({ connection: client, pollInterval: 200 })
      try {
        await s.failover()
        // The failover is announced: the client follows it to the new master.
        await new Promise((r) => setTimeout(r, 500))
        const { jobId } = await queue.enqueue({
          provider: 'anthropic',
          api: 'messages',
          subject: 'u',
          params: messages('after failover'),
        })
        // Wait for the old master to be demoted and resynced (what would wipe a write it took).
        const deadline = Date.now() + 20_000
        while (Date.now() < deadline) {
          const info = await rawCommand(s.master.port, ['INFO', 'replication']).catch(() => '')
          if (info.includes('role:slave') && info.includes('master_link_status:up')) break
          await new Promise((r) => setTimeout(r, 200))
        }
        const meta = `aikit:llmq:{llm:${jobId}}:meta`
        expect(await rawCommand(s.replica.port, ['EXISTS', meta])).toBe('1')
      } finally {
        await queue.close().catch(() => undefined)
      }
    } finally {
      await s.stop()
    }
  }, 90_000)
})
