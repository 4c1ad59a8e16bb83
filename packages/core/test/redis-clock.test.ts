/**
 * The store's clock (`store.now()`): Redis's `TIME` as seen from this process, read without a
 * round trip. One `TIME` in the background measures it, at most once a minute of elapsed time, and
 * again at once when the local wall clock steps (NTP, a VM resume); between measurements it follows
 * elapsed time, so a step of the local wall clock never shifts it; a skewed server shifts `now()`
 * by its skew; a failed measurement keeps the last one and is retried. `clockReady()` resolves once
 * the first measurement has answered (or failed): from then on `now()` is Redis's time even on a
 * machine whose clock is off by an hour.
 */
import { memoryStore } from '@aikit/core'
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLOCK_REFRESH_MS, CLOCK_RETRY_MS, CLOCK_STEP_MS, serverClock } from '../src/redis/clock.js'

/** A `TIME` reply for epoch ms `ms`. */
const timeReply = (ms: number): [string, string] => [
  String(Math.floor(ms / 1000)),
  String((ms % 1000) * 1000),
]

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
const HOUR = 3_600_000

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
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
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
    vi.advanceTimersByTime(CLOCK_REFRESH_MS - 1)
    clock.now()
    expect(calls).toBe(1)
    skew = -2_000
    vi.advanceTimersByTime(1)
    expect(clock.now() - Date.now()).toBe(5_000) // the old offset until the new one answers
    expect(calls).toBe(2)
    answer?.()
    await settle()
    expect(clock.now() - Date.now()).toBe(-2_000)
  })

  it('keeps the last offset when TIME fails, retries after a few seconds, and stops once closed', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
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
    vi.advanceTimersByTime(CLOCK_REFRESH_MS)
    clock.now()
    await settle()
    expect(calls).toBe(2)
    expect(clock.now() - Date.now()).toBe(7_000)
    vi.advanceTimersByTime(CLOCK_RETRY_MS - 1)
    clock.now()
    expect(calls).toBe(2)
    vi.advanceTimersByTime(1)
    clock.now()
    expect(calls).toBe(3)
    await settle()
    closed = true
    vi.advanceTimersByTime(CLOCK_REFRESH_MS)
    clock.now()
    expect(calls).toBe(3)
  })

  it('measures again once the last measurement is a minute old in elapsed time, the wall clock stepped back meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    // The server's clock runs on, unaffected by this machine's clock step.
    const serverBase = Date.now() + 5_000
    const p0 = performance.now()
    const serverNow = () => serverBase + Math.round(performance.now() - p0)
    const clock = serverClock(
      async () => timeReply(serverNow()),
      () => false
    )
    clock.now()
    await settle()
    expect(clock.now()).toBe(serverNow())
    vi.setSystemTime(Date.now() - HOUR)
    vi.advanceTimersByTime(CLOCK_REFRESH_MS)
    clock.now()
    await settle()
    expect(clock.now()).toBe(serverNow())
  })

  it('measures again at the first read after the wall clock steps back or forward', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const serverBase = Date.now() + 5_000
    const p0 = performance.now()
    const serverNow = () => serverBase + Math.round(performance.now() - p0)
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        return timeReply(serverNow())
      },
      () => false
    )
    clock.now()
    await settle()
    // Elapsed time and the wall clock moving apart by less than CLOCK_STEP_MS is no step (slewing):
    // no TIME is sent. (The estimate follows elapsed time, not the wall clock: it was once the wall
    // clock plus the last offset, and moved with it.)
    vi.advanceTimersByTime(10_000)
    vi.setSystemTime(Date.now() + CLOCK_STEP_MS - 1)
    expect(clock.now()).toBe(serverNow())
    expect(calls).toBe(1)
    for (const step of [-HOUR, HOUR]) {
      vi.advanceTimersByTime(1_000)
      vi.setSystemTime(Date.now() + step)
      // Right at the step, before the new TIME answers: still the server's time, not off by the
      // step (the old offset read with the stepped wall clock was, until the new one answered).
      expect(clock.now()).toBe(serverNow())
      expect(calls).toBe(step < 0 ? 2 : 3)
      await settle()
      expect(clock.now()).toBe(serverNow())
      for (let i = 0; i < 100; i++) clock.now()
      expect(calls).toBe(step < 0 ? 2 : 3)
    }
  })

  it('takes the offset at the midpoint of the round trip in elapsed time, the wall clock stepped during it', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const serverBase = Date.now() + 5_000
    const p0 = performance.now()
    const serverNow = () => serverBase + Math.round(performance.now() - p0)
    const clock = serverClock(
      async () => {
        // 200 ms out, the server answers at its midpoint, the local clock steps back meanwhile.
        vi.advanceTimersByTime(100)
        const reply = timeReply(serverNow())
        vi.advanceTimersByTime(100)
        vi.setSystemTime(Date.now() - HOUR)
        return reply
      },
      () => false
    )
    clock.now()
    await settle()
    expect(clock.now()).toBe(serverNow())
  })

  it('ready(): resolves once the first TIME has answered, sending it if no read has; at once after', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const serverBase = Date.now() - HOUR // this machine's clock is an hour ahead of the server's
    const p0 = performance.now()
    const serverNow = () => serverBase + Math.round(performance.now() - p0)
    let calls = 0
    let answer: (() => void) | undefined
    const clock = serverClock(
      () => {
        calls++
        const reply = timeReply(serverNow())
        return new Promise((resolve) => {
          answer = () => resolve(reply)
        })
      },
      () => false
    )
    let ready = false
    const first = clock.ready().then(() => {
      ready = true
    })
    const second = clock.ready()
    clock.now()
    expect(calls).toBe(1) // one TIME for both waits and the read
    await settle()
    expect(ready).toBe(false)
    answer?.()
    await Promise.all([first, second])
    expect(clock.now()).toBe(serverNow())
    await clock.ready()
    expect(calls).toBe(1)
  })

  it('ready(): resolves when the first TIME fails, and at once on a closed clock', async () => {
    const failing = serverClock(
      async () => {
        throw new Error('connection refused')
      },
      () => false
    )
    await failing.ready()
    expect(Math.abs(failing.now() - Date.now())).toBeLessThan(1_000)
    let calls = 0
    const closed = serverClock(
      async () => {
        calls++
        return timeReply(Date.now())
      },
      () => true
    )
    await closed.ready()
    expect(calls).toBe(0)
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
    // Not the default 50 ms: the first TIME (on a new connection) must be answered on a loaded
    // runner too.
    const store = redisStore(server.client({ maxRetriesPerRequest: 1 }), {
      prefix: 'clock',
      commandTimeoutMs: 2_000,
    })
    try {
      await admin.config('RESETSTAT')
      for (let i = 0; i < 1_000; i++) store.now()
      await store.clockReady()
      // Counted before any later read (a read 100 ms after a slow answer refines it).
      const stats = String(await admin.info('commandstats'))
      expect(/cmdstat_time:calls=(\d+)/.exec(stats)?.[1]).toBe('1')
      // Read on both sides of the admin's TIME: the round trip (long on a loaded runner) is not
      // counted as the estimate's error.
      const before = store.now()
      const [seconds, micros] = await admin.time()
      const after = store.now()
      const serverMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      expect(serverMs).toBeGreaterThan(before - 100)
      expect(serverMs).toBeLessThan(after + 100)
    } finally {
      await store.close()
      admin.disconnect()
    }
  })

  it('on Redis, on a machine an hour ahead: the server’s TIME once clockReady() resolved', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    const store = redisStore(client, { prefix: 'clock', commandTimeoutMs: 2_000 })
    const real = Date.now.bind(Date)
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + HOUR)
    try {
      await store.clockReady()
      const [seconds, micros] = await client.time()
      const serverMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
      expect(Math.abs(store.now() - serverMs)).toBeLessThan(1_000)
    } finally {
      spy.mockRestore()
      await store.close()
      client.disconnect()
    }
  })

  it('on Redis: a step of this machine’s wall clock does not move store.now()', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    const store = redisStore(client, { prefix: 'clock', commandTimeoutMs: 2_000 })
    const real = Date.now.bind(Date)
    try {
      await store.clockReady()
      for (const step of [HOUR, -HOUR]) {
        const before = store.now()
        const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + step)
        // The first read after the step, before the TIME it sends has answered.
        const after = store.now()
        spy.mockRestore()
        expect(Math.abs(after - before)).toBeLessThan(1_000)
        await new Promise((resolve) => setTimeout(resolve, 20)) // the new TIME answers
      }
    } finally {
      await store.close()
      client.disconnect()
    }
  })

  it('in memory: the store’s own clock, the `now` option included', () => {
    expect(Math.abs(memoryStore().now() - Date.now())).toBeLessThan(1_000)
    expect(memoryStore({ now: () => 1_234.9 }).now()).toBe(1_234)
  })
})
