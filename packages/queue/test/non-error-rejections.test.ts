/**
 * A provider call that rejects with something other than an Error (a string, null): the worker
 * still announces the delay BullMQ really waits, and hands BullMQ an Error it can fail the job with
 * (BullMQ reads `err.message`), so a job failed for good is not left active and run again.
 */
import { createLlmQueue, createLlmWorker, JobFailedError, type LlmJobEvent } from '@aikit/queue'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { asError, NonErrorThrownError } from '../src/thrown.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

let n = 0
const qname = () => `nonerr${++n}${Math.random().toString(36).slice(2, 6)}`

/** An Anthropic-like client whose create() rejects with `thrown` (not an Error). */
function throwingClient(thrown: () => unknown) {
  const calls: number[] = []
  return {
    calls,
    client: {
      messages: {
        create: () => {
          calls.push(Date.now())
          return Promise.reject(thrown())
        },
      },
    } as never,
  }
}

const params = {
  model: 'claude-haiku-4-5',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'x' }],
}

describe('asError (unit)', () => {
  it('keeps Errors as they are and wraps anything else, the thrown value as cause', () => {
    const e = new Error('boom')
    expect(asError(e)).toBe(e)
    for (const value of ['socket hang up', null, undefined, 42, { status: 500 }]) {
      const wrapped = asError(value)
      expect(wrapped).toBeInstanceOf(NonErrorThrownError)
      expect(wrapped.cause).toBe(value)
      expect(typeof wrapped.message).toBe('string')
    }
    expect(asError('socket hang up').message).toContain('"socket hang up"')
    // Long strings are cut; objects are never stringified (no toString of arbitrary values).
    expect(asError('x'.repeat(10_000)).message.length).toBeLessThan(300)
    const hostile = {
      toString() {
        throw new Error('no')
      },
    }
    expect(asError(hostile).message).toContain('an object')
  })
})

describe('a provider call that rejects with something other than an Error', () => {
  it('a string rejection is retried after exactly the delay announced to followers', async () => {
    const name = qname()
    const queue = createLlmQueue({
      connection: server.client(),
      name,
      attempts: 2,
      backoffDelay: 1000,
      pollInterval: 200,
    })
    const { client } = throwingClient(() => 'socket hang up')
    const worker = createLlmWorker({
      connection: server.client(),
      name,
      clients: { anthropic: client },
    })
    // Every draw of the jitter differs (no two delays can agree by chance).
    let draws = 0
    const random = vi.spyOn(Math, 'random').mockImplementation(() => (draws++ * 0.37) % 1)
    try {
      const waited: number[] = []
      worker.worker.on('failed', (job) => {
        if (job) waited.push(job.delay)
      })
      const { jobId } = await queue.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 's',
        params,
      })
      const events: LlmJobEvent[] = []
      for await (const e of queue.follow(jobId)) events.push(e)
      const retry = events.find(
        (e): e is Extract<LlmJobEvent, { type: 'retry' }> => e.type === 'retry'
      )
      expect(retry).toBeDefined()
      expect(waited[0]).toBe(retry?.delayMs)
    } finally {
      random.mockRestore()
      await worker.close(true)
      await queue.close()
    }
  })

  it('a null rejection on the last attempt fails the job once; it is not left active and run again', async () => {
    const name = qname()
    const queue = createLlmQueue({
      connection: server.client(),
      name,
      attempts: 1,
      pollInterval: 200,
    })
    const { client, calls } = throwingClient(() => null)
    const worker = createLlmWorker({
      connection: server.client(),
      name,
      clients: { anthropic: client },
      lockDuration: 500,
      stalledInterval: 200,
      maxStalledCount: 5,
    })
    try {
      const { jobId } = await queue.enqueue({
        provider: 'anthropic',
        api: 'messages',
        subject: 's',
        params,
      })
      await expect(queue.result(jobId)).rejects.toBeInstanceOf(JobFailedError)
      // BullMQ must be done with the job (removeOnFail), not keep it active for the stalled check.
      await vi.waitFor(async () => expect(await queue.queue.getJobState(jobId)).toBe('unknown'), {
        timeout: 10_000,
        interval: 100,
      })
      expect(calls).toHaveLength(1)
    } finally {
      await worker.close(true)
      await queue.close()
    }
  })
})
