/**
 * RunLog.emit() does not await each token's write; a write failing mid-stream (a Redis blip:
 * ioredis rejects a MULTI once its retries run out, or at once with `enableOfflineQueue: false`)
 * must not become an unhandled rejection, which under Node's default
 * `--unhandled-rejections=throw` kills the worker and every job it runs. `flush` reports it.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { jobKeys } from '../src/keys.js'
import { RunLog } from '../src/run-log.js'

function failingRedis() {
  const chain = {
    rpush: () => chain,
    pexpire: () => chain,
    publish: () => chain,
    exec: () => Promise.reject(new Error('Connection is closed.')),
  }
  return { multi: () => chain } as never
}

const seen: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  seen.push(reason)
}

afterEach(() => {
  process.off('unhandledRejection', onUnhandled)
})

describe('RunLog token writes', () => {
  it('a failed token write is not an unhandled rejection while the run goes on', async () => {
    // Vitest has its own handler; ours only records (the assertion below is the verdict).
    process.on('unhandledRejection', onUnhandled)
    const log = new RunLog(failingRedis(), jobKeys('aikit', 'llm', crypto.randomUUID()), 60_000)
    log.emit({ type: 'token', text: 'hello' })
    // The provider keeps streaming for a while (here: a few event-loop turns, no new token).
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toEqual([])
    // The end of the run does see it.
    await expect(log.flush()).rejects.toThrow('Connection is closed.')
  })
})

describe('RunLog token writes on a real ioredis client that lost its connection', () => {
  it('no unhandled rejection from a token MULTI that ioredis refuses', async () => {
    const { Redis } = await import('ioredis')
    // Nothing listens on port 1; the offline queue is off, as redisStore's docs recommend.
    const redis = new Redis({
      host: '127.0.0.1',
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
    })
    redis.on('error', () => {})
    process.on('unhandledRejection', onUnhandled)
    seen.length = 0
    const log = new RunLog(redis as never, jobKeys('aikit', 'llm', crypto.randomUUID()), 60_000)
    log.emit({ type: 'token', text: 'hello' })
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toEqual([])
    await expect(log.flush()).rejects.toThrow()
    redis.disconnect()
  })
})
