/**
 * @module redis/clock
 * The Redis server's clock as seen from this process, read without a round trip: the server's
 * `TIME` at the last measurement (taken halfway through its round trip) plus the elapsed time
 * since, on the monotonic clock. The local wall clock plays no part in the estimate, so a step of
 * it (NTP, a VM resume) does not shift it. One `TIME` in the background measures again whenever
 * the last measurement is older than a minute of elapsed time (the two clocks drift apart by a few
 * ppm), and at once when the wall clock has moved apart from elapsed time since (a VM resume may
 * also have paused the monotonic clock: the server's reply tells).
 * Ops compute absolute times on the server's clock (`TIME` is their only clock); this turns such
 * a time into a duration from now even when the two machines' clocks disagree.
 */
import { monotonicNow } from './monotonic.js'

/** How old a measurement may get (elapsed time) before a read starts a new one. */
export const CLOCK_REFRESH_MS = 60_000
/** After a failed measurement (server unreachable), how long until a read tries again. */
export const CLOCK_RETRY_MS = 5_000
/**
 * How far the local wall clock may move apart from elapsed time since the last measurement before
 * a read takes it for a step and measures again (NTP slewing moves it by 0.5 ms a second at most).
 */
export const CLOCK_STEP_MS = 1_000

/** The server's clock, estimated locally. */
export interface ServerClock {
  /**
   * Epoch ms (an integer) on the server's clock: the last measured `TIME` plus the elapsed time
   * since; this process's wall clock until a first `TIME` has answered.
   */
  now(): number
  /**
   * Resolves (never rejects) once a first measurement has answered or failed, starting it if none
   * has been sent: from then on `now()` reads the server's clock (unless that one failed).
   * Resolved already after that, and at once when the clock is closed.
   */
  ready(): Promise<void>
}

const READY: Promise<void> = Promise.resolve()

/**
 * A clock over `time`, which sends one `TIME` and resolves its reply (`[seconds, microseconds]`
 * as strings). Nothing is sent until the first read, nor once `isClosed()` holds.
 */
export function serverClock(time: () => Promise<unknown>, isClosed: () => boolean): ServerClock {
  // The server's epoch ms at monotonic time `serverAt` (unknown until a TIME answers): the
  // estimate follows elapsed time from there, never the wall clock.
  let serverMs: number | undefined
  let serverAt = 0
  // When the last measurement answered (a failed one counts as older), on the monotonic clock and
  // on the wall clock: elapsed time gives its age, the two together a step of the wall clock.
  let measuredAt = Number.NEGATIVE_INFINITY
  let measuredWall = Number.NEGATIVE_INFINITY
  let measuring = false
  // Whether a first measurement has answered or failed, and what `ready()` callers wait on.
  let settled = false
  let firstWait: Promise<void> | undefined
  let firstDone: (() => void) | undefined
  const answered = (): void => {
    measuring = false
    settled = true
    firstDone?.()
  }
  const measure = (): void => {
    measuring = true
    const sent = monotonicNow()
    time().then(
      (reply) => {
        const received = monotonicNow()
        const ms = timeReplyMs(reply)
        // The server answered at the round trip's midpoint, timed monotonically: a step of the
        // wall clock during the round trip does not skew it.
        if (ms !== undefined) {
          serverMs = ms + (received - sent) / 2
          serverAt = received
        }
        measuredAt = received
        measuredWall = Date.now()
        answered()
      },
      () => {
        // Unreachable now (the store's own policies report it): keep the last measurement.
        measuredAt = monotonicNow() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        measuredWall = Date.now() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        answered()
      }
    )
  }
  const now = (): number => {
    const elapsedNow = monotonicNow()
    if (!measuring) {
      const elapsed = elapsedNow - measuredAt
      if (
        (elapsed >= CLOCK_REFRESH_MS ||
          Math.abs(Date.now() - measuredWall - elapsed) >= CLOCK_STEP_MS) &&
        !isClosed()
      ) {
        measure()
      }
    }
    return serverMs === undefined ? Date.now() : Math.floor(serverMs + (elapsedNow - serverAt))
  }
  return {
    now,
    ready() {
      if (settled) return READY
      now() // sends the first TIME unless one is out (or the clock is closed)
      if (!measuring) return READY
      firstWait ??= new Promise<void>((resolve) => {
        firstDone = resolve
      })
      return firstWait
    },
  }
}
/** Epoch ms of a `TIME` reply, or undefined for anything else. */
function timeReplyMs(reply: unknown): number | undefined {
  if (!Array.isArray(reply) || reply.length < 2) return undefined
  const seconds = Number(reply[0])
  const micros = Number(reply[1])
  if (!Number.isSafeInteger(seconds) || !Number.isSafeInteger(micros)) return undefined
  return seconds * 1000 + Math.floor(micros / 1000)
}
