/**
 * @module redis/clock
 * The Redis server's clock as seen from this process, read without a round trip: the offset
 * between the server's `TIME` and the local clock, measured by one `TIME` in the background
 * whenever the last measurement is older than a minute of elapsed time (taken halfway through its
 * round trip), and at once when the local wall clock has been stepped (NTP, a VM resume) since.
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
  /** Epoch ms on the server's clock: the local clock plus the last measured offset (0 at first). */
  now(): number
}

/**
 * A clock over `time`, which sends one `TIME` and resolves its reply (`[seconds, microseconds]`
 * as strings). Nothing is sent until the first read, nor once `isClosed()` holds.
 */
export function serverClock(time: () => Promise<unknown>, isClosed: () => boolean): ServerClock {
  let offset = 0
  // When the last measurement answered (a failed one counts as older), on the monotonic clock and
  // on the wall clock: elapsed time gives its age, the two together a step of the wall clock.
  let measuredAt = Number.NEGATIVE_INFINITY
  let measuredWall = Number.NEGATIVE_INFINITY
  let measuring = false
  const measure = (): void => {
    measuring = true
    const sent = monotonicNow()
    time().then(
      (reply) => {
        const received = monotonicNow()
        const wall = Date.now()
        const serverMs = timeReplyMs(reply)
        // The round trip's midpoint on the wall clock of its end, timed monotonically: a step of
        // the wall clock during the round trip does not skew the offset.
        if (serverMs !== undefined) offset = Math.round(serverMs - (wall - (received - sent) / 2))
        measuredAt = received
        measuredWall = wall
        measuring = false
      },
      () => {
        // Unreachable now (the store's own policies report it): keep the last offset.
        measuredAt = monotonicNow() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        measuredWall = Date.now() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        measuring = false
      }
    )
  }
  return {
    now() {
      const local = Date.now()
      if (!measuring) {
        const elapsed = monotonicNow() - measuredAt
        if (
          (elapsed >= CLOCK_REFRESH_MS ||
            Math.abs(local - measuredWall - elapsed) >= CLOCK_STEP_MS) &&
          !isClosed()
        ) {
          measure()
        }
      }
      return local + offset
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
