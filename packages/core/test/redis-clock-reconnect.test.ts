/**
 * A store created while Redis is down: its first `TIME` fails and `clockReady()` resolves `false`
 * (`now()` is this machine's clock). The clock is measured again as soon as the client (re)connects,
 * not only after the retry delay, and `clockReady()` called again waits for that measurement and
 * resolves `true`: from then on `now()` is Redis's time, even on a machine an hour ahead. Once
 * measured, `clockReady()` resolves `true` at once, a refresh out or Redis down again. Stores sharing
 * a client add one `ready` listener to it between them.
 */
import { redisStore } from '@aikit/core/redis'
import { type RedisServer, startRedis, whenReady } from '@aikit/testing/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLOCK_RETRY_MS, serverClock } from '../src/redis/clock.js'

const HOUR = 3_600_000
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))
const timeReply = (ms: number): [string, string] => [
  String(Math.floor(ms / 1000)),
  String((ms % 1000) * 1000),
]

describe('serverClock: a failed first measurement is not final', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('ready() resolves false when the TIME fails; connected() measures at once and a ready() then waits for it', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    let up = false
    let calls = 0
    let answer: (() => void) | undefined
    const clock = serverClock(
      () => {
        calls++
        if (!up) return Promise.reject(new Error('connection refused'))
        const reply = timeReply(Date.now() + HOUR)
        return new Promise((resolve) => {
          answer = () => resolve(reply)
        })
      },
      () => false
    )
    clock.connected() // never read: nothing to measure for
    expect(calls).toBe(0)
    expect(await clock.ready()).toBe(false)
    expect(calls).toBe(1)
    // Within the retry delay and not known to be connected: no TIME, `false` at once.
    expect(await clock.ready()).toBe(false)
    expect(calls).toBe(1)
    up = true
    clock.connected() // well before CLOCK_RETRY_MS
    expect(calls).toBe(2)
    const waiting = clock.ready()
    expect(clock.ready()).toBe(waiting) // the one measurement out, however many wait
    clock.connected() // one out already: not a second
    expect(calls).toBe(2)
    answer?.()
    expect(await waiting).toBe(true)
    expect(clock.now() - Date.now()).toBe(HOUR)
    // Known: `true` at once, even while a later measurement is out or fails.
    up = false
    vi.advanceTimersByTime(CLOCK_RETRY_MS * 20)
    clock.now()
    expect(await clock.ready()).toBe(true)
  })

  it('ready() measures at once after a failure when the connection is up', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    let up = false
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        if (!up) throw new Error('connection refused')
        return timeReply(Date.now() - HOUR)
      },
      () => false,
      () => up
    )
    expect(await clock.ready()).toBe(false)
    up = true
    expect(await clock.ready()).toBe(true)
    expect(calls).toBe(2)
    expect(clock.now() - Date.now()).toBe(-HOUR)
  })

  it('a closed clock: ready() resolves false and connected() sends nothing', async () => {
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        return timeReply(Date.now())
      },
      () => true,
      () => true
    )
    clock.connected()
    expect(await clock.ready()).toBe(false)
    await settle()
    expect(calls).toBe(0)
  })
})

describe('redisStore created while Redis is down', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  const serverTime = async (): Promise<number> => {
    const admin = server.client()
    try {
      const [seconds, micros] = await admin.time()
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    } finally {
      admin.disconnect()
    }
  }

  it('on a machine an hour ahead: clockReady() is false while down, true with Redis’s time once the client reconnects', async () => {
    await server.kill()
    const real = Date.now.bind(Date)
    vi.spyOn(Date, 'now').mockImplementation(() => real() + HOUR)
    const client = server.client({
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    })
    const store = redisStore(client, { commandTimeoutMs: 1_000, prefix: 'clock-late' })
    try {
      // The first TIME fails: Redis is down (`false`; a store of the older contract resolved
      // nothing).
      expect(await store.clockReady()).not.toBe(true)
      expect(Math.abs(store.now() - real() - HOUR)).toBeLessThan(1_000)
      await server.restart()
      await whenReady(client)
      // The TIME sent on reconnect, not one after the retry delay.
      const known = await store.clockReady()
      expect(Math.abs(store.now() - (await serverTime()))).toBeLessThan(1_000)
      expect(known).toBe(true)
      // Redis down again: the last measurement holds, still `true`.
      await server.kill()
      expect(await store.clockReady()).toBe(true)
      expect(Math.abs(store.now() - real())).toBeLessThan(1_000)
    } finally {
      vi.restoreAllMocks()
      await store.close()
      client.disconnect()
      await server.restart()
    }
  }, 20_000)

  it('stores sharing a client add one ready listener between them', async () => {
    const client = server.client({ maxRetriesPerRequest: 1 })
    try {
      await whenReady(client)
      const before = client.listenerCount('ready')
      // Not the default 50 ms: every TIME must be answered on a loaded runner too.
      const stores = Array.from({ length: 20 }, () =>
        redisStore(client, { prefix: 'clock-many', commandTimeoutMs: 2_000 })
      )
      expect(client.listenerCount('ready')).toBe(before + 1)
      for (const store of stores) expect(await store.clockReady()).toBe(true)
      for (const store of stores) await store.close()
    } finally {
      client.disconnect()
    }
  })
})
