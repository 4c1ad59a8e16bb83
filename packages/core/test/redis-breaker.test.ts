import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { InvalidOptionsError, StoreTimeoutError, StoreUnavailableError } from '@aikit/core'
import { circuitBreaker, redisStore, withTimeout } from '@aikit/core/redis'
import { freePort } from '@aikit/testing/redis'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { deadlines } from '../src/redis/timeout.js'

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const boom = () => Promise.reject(new Error('down'))
const ok = () => Promise.resolve('ok')

function setup(options: { failureThreshold?: number; openMs?: number } = {}) {
  let t = 0
  const opened: { failures: number; error: unknown }[] = []
  const closed: { downMs: number }[] = []
  const breaker = circuitBreaker({
    failureThreshold: 3,
    openMs: 1000,
    ...options,
    now: () => t,
    onOpen: (info) => opened.push(info),
    onClose: (info) => closed.push(info),
  })
  return {
    breaker,
    opened,
    closed,
    advance: (ms: number) => {
      t += ms
    },
  }
}

async function failTimes(breaker: ReturnType<typeof circuitBreaker>, n: number) {
  for (let i = 0; i < n; i++) await expect(breaker.execute(boom)).rejects.toThrow('down')
}

describe('circuitBreaker', () => {
  it('opens after failureThreshold consecutive failures; a success resets the count', async () => {
    const { breaker, opened } = setup()
    await failTimes(breaker, 2)
    expect(await breaker.execute(ok)).toBe('ok')
    expect(breaker.failures).toBe(0)
    await failTimes(breaker, 2)
    expect(breaker.state).toBe('closed')
    await failTimes(breaker, 1)
    expect(breaker.state).toBe('open')
    expect(opened).toHaveLength(1)
    expect(opened[0]?.failures).toBe(3)
    expect((opened[0]?.error as Error | undefined)?.message).toBe('down')
  })

  it('fails fast while open without calling the function', async () => {
    const { breaker, advance } = setup()
    await failTimes(breaker, 3)
    const fn = vi.fn(ok)
    advance(999)
    const error = await breaker.execute(fn).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreUnavailableError)
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', reason: 'circuit-open' })
    expect(fn).not.toHaveBeenCalled()
  })

  it('lets exactly one probe through when half-open; its success closes the circuit', async () => {
    const { breaker, advance, closed } = setup()
    await failTimes(breaker, 3)
    advance(1000)
    expect(breaker.state).toBe('half-open')
    const probe = deferred<string>()
    const probeFn = vi.fn(() => probe.promise)
    const pending = breaker.execute(probeFn)
    expect(breaker.state).toBe('open')
    const other = vi.fn(ok)
    await expect(breaker.execute(other)).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(breaker.execute(other)).rejects.toBeInstanceOf(StoreUnavailableError)
    expect(other).not.toHaveBeenCalled()
    advance(250)
    probe.resolve('probed')
    expect(await pending).toBe('probed')
    expect(probeFn).toHaveBeenCalledTimes(1)
    expect(breaker.state).toBe('closed')
    expect(closed).toEqual([{ downMs: 1250 }])
    expect(await breaker.execute(other)).toBe('ok')
  })

  it('re-opens for another openMs when the probe fails, without a second onOpen', async () => {
    const { breaker, advance, opened } = setup()
    await failTimes(breaker, 3)
    advance(1000)
    await expect(breaker.execute(boom)).rejects.toThrow('down')
    expect(breaker.state).toBe('open')
    advance(999)
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(StoreUnavailableError)
    advance(1)
    expect(await breaker.execute(ok)).toBe('ok')
    expect(opened).toHaveLength(1)
  })

  it('does not count errors that isFailure rejects (the backend answered)', async () => {
    const { breaker } = setup()
    for (let i = 0; i < 5; i++) {
      await expect(breaker.execute(boom, () => false)).rejects.toThrow('down')
    }
    expect(breaker.state).toBe('closed')
    expect(breaker.failures).toBe(0)
  })

  it('ignores late results of calls started before the circuit opened', async () => {
    const { breaker, advance } = setup()
    const slow = deferred<string>()
    const late = breaker.execute(() => slow.promise)
    await failTimes(breaker, 3)
    slow.resolve('late')
    expect(await late).toBe('late')
    expect(breaker.state).toBe('open')
    advance(1000)
    expect(breaker.state).toBe('half-open')
  })

  it('reset() closes the circuit', async () => {
    const { breaker } = setup()
    await failTimes(breaker, 3)
    breaker.reset()
    expect(breaker.state).toBe('closed')
    expect(await breaker.execute(ok)).toBe('ok')
  })

  it('validates options naming the field', () => {
    const field = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        return error instanceof InvalidOptionsError ? error.field : 'wrong error'
      }
      return 'no error'
    }
    expect(field(() => circuitBreaker({ failureThreshold: 0 }))).toBe('failureThreshold')
    expect(field(() => circuitBreaker({ openMs: -1 }))).toBe('openMs')
    expect(field(() => circuitBreaker({ now: 'x' as never }))).toBe('now')
  })
})

describe('circuitBreaker: openMs is elapsed time, whatever the wall clock does', () => {
  const HOUR = 3_600_000
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lets the probe through once openMs has elapsed, the wall clock stepped back meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const closed: number[] = []
    const breaker = circuitBreaker({
      failureThreshold: 1,
      openMs: 1_000,
      onClose: ({ downMs }) => closed.push(downMs),
    })
    await failTimes(breaker, 1)
    vi.setSystemTime(Date.now() - HOUR) // NTP steps this machine's clock back
    vi.advanceTimersByTime(999)
    expect(breaker.state).toBe('open')
    vi.advanceTimersByTime(1)
    expect(breaker.state).toBe('half-open')
    expect(await breaker.execute(ok)).toBe('ok')
    expect(closed).toEqual([1_000])
  })

  it('keeps the circuit open for openMs of elapsed time, the wall clock stepped forward meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const breaker = circuitBreaker({ failureThreshold: 1, openMs: 1_000 })
    await failTimes(breaker, 1)
    vi.setSystemTime(Date.now() + HOUR)
    expect(breaker.state).toBe('open')
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(StoreUnavailableError)
    vi.advanceTimersByTime(1_000)
    expect(breaker.state).toBe('half-open')
  })

  it("redisStore's breaker lets its probe through once openMs has elapsed, the wall clock stepped back", async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    // Nothing listens there, and commands fail at once (no offline queue): every call is a failure.
    const client = new Redis({
      host: '127.0.0.1',
      port: await freePort(),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    })
    client.on('error', () => {})
    try {
      const store = redisStore(client, {
        commandTimeoutMs: Number.POSITIVE_INFINITY,
        breaker: { failureThreshold: 2, openMs: 1_000 },
      })
      for (let i = 0; i < 2; i++) await store.get('k').catch(() => undefined)
      expect(store.breakerState).toBe('open')
      vi.setSystemTime(Date.now() - HOUR)
      vi.advanceTimersByTime(1_000)
      expect(store.breakerState).toBe('half-open')
    } finally {
      client.disconnect()
    }
  })
})

describe('withTimeout', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  it('rejects with StoreTimeoutError when the promise does not settle in time', async () => {
    vi.useFakeTimers()
    const never = new Promise<string>(() => {})
    const result = withTimeout(never, 50, 'redis GET').catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(51) // the timer, then the turn of the event loop it waits
    const error = await result
    expect(error).toBeInstanceOf(StoreTimeoutError)
    expect(error).toMatchObject({ code: 'STORE_TIMEOUT', timeoutMs: 50 })
  })

  it('lets a reply already waiting in the socket win when the process was busy past the timeout', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const accepted = once(server, 'connection') as Promise<[Socket]>
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
    const [[peer]] = await Promise.all([accepted, once(client, 'connect')])
    try {
      const reply = new Promise<string>((resolve) =>
        client.once('data', (d: Buffer) => resolve(d.toString()))
      )
      const bounded = withTimeout(reply, 20, 'redis PING')
      peer.write('PONG') // over loopback: in the client's socket buffer right away
      const until = Date.now() + 120
      while (Date.now() < until) {
        // Busy, as under a burst of requests: the 20 ms timer is due before the socket is read.
      }
      await expect(bounded).resolves.toBe('PONG')
    } finally {
      client.destroy()
      peer.destroy()
      server.close()
    }
  })

  it('clears its timer when the promise settles first', async () => {
    const clear = vi.spyOn(globalThis, 'clearTimeout')
    expect(await withTimeout(Promise.resolve(7), 1000)).toBe(7)
    await expect(withTimeout(Promise.reject(new Error('x')), 1000)).rejects.toThrow('x')
    expect(clear).toHaveBeenCalledTimes(2)
  })

  it('starts no timer for an infinite timeout', async () => {
    const set = vi.spyOn(globalThis, 'setTimeout')
    expect(await withTimeout(Promise.resolve(1), Number.POSITIVE_INFINITY)).toBe(1)
    expect(set).not.toHaveBeenCalled()
  })
})

describe("deadlines: one timer for all of a store's commands", () => {
  it('expires exactly the items still unsettled, over thousands of items settling in order', async () => {
    const expired: number[] = []
    const settled = new Set<number>()
    const queue = deadlines<number>(
      20,
      (n) => settled.has(n),
      (n) => expired.push(n)
    )
    for (let i = 0; i < 3000; i++) queue.add(i)
    // Settled in reply order, each followed by drop() as the store does; 1500 and 2999 never answer.
    for (let i = 0; i < 3000; i++) {
      if (i === 1500 || i === 2999) continue
      settled.add(i)
      queue.drop()
    }
    expect(expired).toEqual([])
    await vi.waitFor(() => expect(expired).toEqual([1500, 2999]), { timeout: 10_000 })
    // Items added after a sweep get a timer of their own.
    queue.add(5000)
    await vi.waitFor(() => expect(expired).toEqual([1500, 2999, 5000]), { timeout: 10_000 })
  })

  it('hands each expired item back the mark it was added with', async () => {
    const expired: [string, number][] = []
    const queue = deadlines<string>(
      20,
      () => false,
      (item, mark) => expired.push([item, mark])
    )
    queue.add('a', 7)
    queue.add('b')
    queue.add('c', 9)
    await vi.waitFor(
      () =>
        expect(expired).toEqual([
          ['a', 7],
          ['b', 0],
          ['c', 9],
        ]),
      { timeout: 10_000 }
    )
  })

  it('lets a reply already waiting in the socket win when the process was busy past the timeout', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const accepted = once(server, 'connection') as Promise<[Socket]>
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
    const [[peer]] = await Promise.all([accepted, once(client, 'connect')])
    try {
      const call = { done: false }
      const expired: unknown[] = []
      const queue = deadlines<typeof call>(
        20,
        (c) => c.done,
        (c) => expired.push(c)
      )
      client.once('data', () => {
        call.done = true
      })
      queue.add(call)
      peer.write('PONG')
      const until = Date.now() + 120
      while (Date.now() < until) {
        // Busy: the 20 ms timer is due before the socket is read.
      }
      await vi.waitFor(() => expect(call.done).toBe(true), { timeout: 10_000 })
      await new Promise((resolve) => setTimeout(resolve, 40))
      expect(expired).toEqual([])
    } finally {
      client.destroy()
      peer.destroy()
      server.close()
    }
  })
})
