/**
 * The store's clock (`store.now()`): Redis's `TIME` as seen from this process, read without a
 * round trip. One `TIME` in the background measures the offset, at most once a minute; a skewed
 * server shifts `now()` by its skew; a failed measurement keeps the last offset and is retried.
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLOCK_REFRESH_MS, CLOCK_RETRY_MS, serverClock } from '../src/redis/clock.js'

/** A `TIME` reply for epoch ms `ms`. */
const timeReply = (ms: number): [string, string] => [
  String(Math.floor(ms / 1000)),
  String((ms % 1000) * 1000),
]

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('serverClock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reads the local clock until the first TIME answers, then adds the server’s offset', async () => {
    const skew = 3_600_000
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        return timeReply(Date.now() + skew)
      },
      () => false
    )
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000)
    await settle()
    expect(Math.abs(clock.now() - (Date.now() + skew))).toBeLessThan(1_000)
    expect(calls).toBe(1)
  })

  it('measures again once the offset is a minute old, never two at a time', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    let skew = 5_000
    let calls = 0
    let answer: (() => void) | undefined
    const clock = serverClock(
      () => {
        calls++
        const reply = timeReply(Date.now() + skew)
        return new Promise((resolve) => {
          answer = () => resolve(reply)
        })
      },
      () => false
    )
    for (let i = 0; i < 100; i++) clock.now()
    expect(calls).toBe(1) // one in flight
    answer?.()
    await settle()
    expect(clock.now() - Date.now()).toBe(skew)
    vi.setSystemTime(Date.now() + CLOCK_REFRESH_MS - 1)
    clock.now()
    expect(calls).toBe(1)
    skew = -2_000
    vi.setSystemTime(Date.now() + 1)
    expect(clock.now() - Date.now()).toBe(5_000) // the old offset until the new one answers
    expect(calls).toBe(2)
    answer?.()
    await settle()
    expect(clock.now() - Date.now()).toBe(-2_000)
  })

  it('keeps the last offset when TIME fails, retries after a few seconds, and stops once closed', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 })
    let fail = false
    let closed = false
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        if (fail) throw new Error('connection refused')
        return timeReply(Date.now() + 7_000)
      },
      () => closed
    )
    clock.now()
    await settle()
    fail = true
    vi.setSystemTime(Date.now() + CLOCK_REFRESH_MS)
    clock.now()
    await settle()
    expect(calls).toBe(2)
    expect(clock.now() - Date.now()).toBe(7_000)
    vi.setSystemTime(Date.now() + CLOCK_RETRY_MS - 1)
    clock.now()
    expect(calls).toBe(2)
    vi.setSystemTime(Date.now() + 1)
    clock.now()
    expect(calls).toBe(3)
    await settle()
    closed = true
    vi.setSystemTime(Date.now() + CLOCK_REFRESH_MS)
    clock.now()
    expect(calls).toBe(3)
  })

  it('ignores a reply that is not a TIME reply', async () => {
    const clock = serverClock(
      async () => 'OK',
      () => false
    )
    clock.now()
    await settle()
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000)
  })
})

describe('store.now()', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('on Redis: the server’s TIME, measured by one TIME command however often it is read', async () => {
    const admin = server.client()
    const store = redisStore(server.client({ maxRetriesPerRequest: 1 }), { prefix: 'clock' })
    try {
      await admin.config('RESETSTAT')
      for (let i = 0; i < 1_000; i++) store.now()
      await new Promise((resolve) => setTimeout(resolve, 50))
      const [seconds, micros] = await admin.time()
      const serverMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      expect(Math.abs(store.now() - serverMs)).toBeLessThan(100)
      const stats = String(await admin.info('commandstats'))
      expect(/cmdstat_time:calls=(\d+)/.exec(stats)?.[1]).toBe('2') // ours and the one above
    } finally {
      await store.close()
      admin.disconnect()
    }
  })

  it('in memory: the store’s own clock, the `now` option included', () => {
    expect(Math.abs(memoryStore().now() - Date.now())).toBeLessThan(1_000)
    expect(memoryStore({ now: () => 1_234.9 }).now()).toBe(1_234)
  })
})
