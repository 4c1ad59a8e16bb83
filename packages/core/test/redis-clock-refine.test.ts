/**
 * The store's clock estimate is off by up to half the round trip of the `TIME` it was taken from,
 * and the first one is sent while a process is busiest (starting up): a reply that waited in a busy
 * event loop makes the estimate run ahead by that wait, and two instances' stamps (the cache orders
 * sets and invalidations by them) then disagree by as much. So a measurement with a long round trip
 * is followed by a few more, and the estimate keeps the sample with the shortest one; a sample
 * after a reconnection or a wall-clock step replaces it whatever its round trip (the server, or the
 * monotonic clock, may have changed).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  CLOCK_REFINE_GAP_MS,
  CLOCK_REFINE_SAMPLES,
  CLOCK_REFRESH_MS,
  CLOCK_STEP_MS,
  serverClock,
} from '../src/redis/clock.js'

const timeReply = (ms: number): [string, string] => [
  String(Math.floor(ms / 1000)),
  String((ms % 1000) * 1000),
]
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

/**
 * A server `skew` ms ahead of this machine; each `TIME` takes the next `[roundTrip, answeredAt]`
 * from `trips` (the server reads its clock `answeredAt` ms into the round trip; its reply then
 * waits the rest), the last one repeating.
 */
function fakeServer(trips: Array<[number, number]>, skew = 5_000) {
  const serverNow = () => Date.now() + skew
  let calls = 0
  const time = async () => {
    const [roundTrip, answeredAt] = trips[Math.min(calls, trips.length - 1)] ?? [0, 0]
    calls++
    vi.advanceTimersByTime(answeredAt)
    const reply = timeReply(serverNow())
    vi.advanceTimersByTime(roundTrip - answeredAt)
    return reply
  }
  return {
    time,
    serverNow,
    get calls() {
      return calls
    },
  }
}

describe('serverClock: a slow first measurement is refined', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('keeps the sample with the shortest round trip, one more per read after a gap, at most a few', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const server = fakeServer([
      [200, 190], // read 190 ms into a 200 ms round trip: the estimate runs 90 ms ahead
      [20, 10], // symmetric: exact, but 10 ms of doubt
      [60, 55], // longer and skewed: not taken
      [2, 1], // exact and precise: taken, no more samples after it
    ])
    const clock = serverClock(server.time, () => false)
    clock.now()
    await settle()
    expect(clock.now() - server.serverNow()).toBe(90)
    expect(server.calls).toBe(1)
    // Reads right after an answer send nothing.
    for (let i = 0; i < 10; i++) clock.now()
    expect(server.calls).toBe(1)
    vi.advanceTimersByTime(CLOCK_REFINE_GAP_MS)
    clock.now()
    await settle()
    expect(server.calls).toBe(2)
    expect(clock.now() - server.serverNow()).toBe(0)
    vi.advanceTimersByTime(CLOCK_REFINE_GAP_MS)
    clock.now()
    await settle()
    expect(server.calls).toBe(3)
    expect(clock.now() - server.serverNow()).toBe(0) // the skewed sample was not taken
    vi.advanceTimersByTime(CLOCK_REFINE_GAP_MS)
    clock.now()
    await settle()
    expect(server.calls).toBe(4)
    expect(clock.now() - server.serverNow()).toBe(0)
    // Precise now: nothing more until the minute's refresh.
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(CLOCK_REFINE_GAP_MS)
      clock.now()
      await settle()
    }
    expect(server.calls).toBe(4)
  })

  it('sends at most CLOCK_REFINE_SAMPLES more when every round trip is long', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const server = fakeServer([[50, 25]])
    const clock = serverClock(server.time, () => false)
    for (let i = 0; i < CLOCK_REFINE_SAMPLES + 5; i++) {
      clock.now()
      await settle()
      vi.advanceTimersByTime(CLOCK_REFINE_GAP_MS)
    }
    expect(server.calls).toBe(1 + CLOCK_REFINE_SAMPLES)
    expect(clock.now() - server.serverNow()).toBe(0)
  })

  it("a minute's refresh with a much longer round trip keeps the better estimate", async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    const server = fakeServer([
      [0, 0],
      [400, 390], // 190 ms ahead if taken
    ])
    const clock = serverClock(server.time, () => false)
    clock.now()
    await settle()
    vi.advanceTimersByTime(CLOCK_REFRESH_MS)
    clock.now()
    await settle()
    expect(server.calls).toBe(2)
    expect(clock.now() - server.serverNow()).toBe(0)
  })

  it('a reconnection’s first answer replaces the estimate whatever its round trip', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    let skew = 5_000
    let roundTrip = 0
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        vi.advanceTimersByTime(roundTrip / 2)
        const reply = timeReply(Date.now() + skew)
        vi.advanceTimersByTime(roundTrip / 2)
        return reply
      },
      () => false
    )
    clock.now()
    await settle()
    expect(clock.now() - Date.now()).toBe(5_000)
    // Another server (a failover), two seconds behind, and a slow connection to it.
    skew = -2_000
    roundTrip = 300
    clock.connected()
    await settle()
    expect(calls).toBe(2)
    expect(clock.now() - Date.now()).toBe(-2_000)
  })

  it('a reconnection while a refining sample is out: that sample’s answer is taken', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    let skew = 5_000
    let answer: (() => void) | undefined
    let calls = 0
    const clock = serverClock(
      () => {
        calls++
        // Read by the server when `answer()` is called (a command sent while the connection is
        // down waits for the new one), answered at once.
        return new Promise((resolve) => {
          answer = () => resolve(timeReply(Date.now() + skew))
        })
      },
      () => false
    )
    clock.now()
    vi.advanceTimersByTime(40)
    answer?.()
    await settle()
    vi.advanceTimersByTime(CLOCK_REFINE_GAP_MS)
    clock.now() // a refining sample, out
    expect(calls).toBe(2)
    skew = -2_000
    clock.connected() // one is out: nothing more is sent
    expect(calls).toBe(2)
    vi.advanceTimersByTime(300)
    answer?.()
    await settle()
    // The answer came after a reconnection: taken, though its round trip is longer than the
    // first's (the estimate is off by at most half of it).
    expect(Math.abs(clock.now() - (Date.now() - 2_000))).toBeLessThanOrEqual(150)
    expect(calls).toBe(2)
  })

  it('a sample after a wall-clock step replaces the estimate whatever its round trip', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'], now: 1_700_000_000_000 })
    let skew = 5_000
    let roundTrip = 0
    let calls = 0
    const clock = serverClock(
      async () => {
        calls++
        vi.advanceTimersByTime(roundTrip / 2)
        const reply = timeReply(Date.now() + skew)
        vi.advanceTimersByTime(roundTrip / 2)
        return reply
      },
      () => false
    )
    clock.now()
    await settle()
    // A VM resume: the wall clock moved on, and the server's offset from it changed.
    vi.setSystemTime(Date.now() + CLOCK_STEP_MS * 10)
    skew = 1_000
    roundTrip = 200
    clock.now()
    await settle()
    expect(calls).toBe(2)
    expect(clock.now() - Date.now()).toBe(1_000)
  })
})
