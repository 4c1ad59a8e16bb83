/**
 * @module redis/clock
 * The Redis server's clock as seen from this process, read without a round trip: the server's
 * `TIME` at the last measurement (taken halfway through its round trip) plus the elapsed time
 * since, on the monotonic clock. The local wall clock plays no part in the estimate, so a step of
 * it (NTP, a VM resume) does not shift it. One `TIME` in the background measures again whenever
 * the last measurement is older than a minute of elapsed time (the two clocks drift apart by a few
 * ppm), at once when the wall clock has moved apart from elapsed time since (a VM resume may
 * also have paused the monotonic clock: the server's reply tells), and at once when the connection
 * (re)opens (`connected()`): a store created while Redis was down must not wait out the retry delay
 * on this machine's clock once Redis is back.
 * A measurement is off by up to half its round trip, and the first one is taken when a process is
 * busiest (starting up, compiling, connecting), so a few more follow one that took long, and the
 * estimate keeps the sample with the shortest round trip: the stamps two instances take from their
 * estimates (the cache orders sets and invalidations by them) then agree to about a millisecond
 * rather than to whatever the first round trip happened to take.
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
/**
 * A measurement whose round trip took longer than twice this (ms) is followed by up to
 * `CLOCK_REFINE_SAMPLES` more, one per read at least `CLOCK_REFINE_GAP_MS` after the last answer,
 * and the estimate keeps the sample with the shortest round trip.
 */
export const CLOCK_PRECISE_MS = 1
export const CLOCK_REFINE_SAMPLES = 3
export const CLOCK_REFINE_GAP_MS = 100
/**
 * How fast the two clocks may drift apart (ms per elapsed ms; quartz drifts by tens of ppm): a
 * sample's error grows by it with age, so a later sample with a slightly longer round trip still
 * replaces a much older one.
 */
const CLOCK_DRIFT = 1e-4

/** The server's clock, estimated locally. */
export interface ServerClock {
  /**
   * Epoch ms (an integer) on the server's clock: the last measured `TIME` plus the elapsed time
   * since; this process's wall clock until a first `TIME` has answered.
   */
  now(): number
  /**
   * Resolves (never rejects) with whether `now()` reads the server's clock: `true` once a `TIME`
   * has answered (at once from then on, even while a later measurement is out), `false` when the
   * measurement it waited for failed or none could be sent (the clock is closed, or it failed
   * less than `CLOCK_RETRY_MS` ago and the connection is not known to be up). While unmeasured,
   * it starts a measurement if none is out and one may be sent, and otherwise waits for the one
   * out: a caller that got `false` may call it again later and wait for the next one (each is
   * bounded by the `time` function's own timeout).
   */
  ready(): Promise<boolean>
  /**
   * The connection to the server (re)opened: measures at once if the clock has been read (or
   * `ready()` called) before, unless a measurement is out or the clock is closed (the server may
   * be another one now, and an unmeasured clock should not wait for the retry delay). A clock no
   * one reads still sends nothing.
   */
  connected(): void
}

const KNOWN: Promise<boolean> = Promise.resolve(true)
const UNKNOWN: Promise<boolean> = Promise.resolve(false)

/**
 * A clock over `time`, which sends one `TIME` and resolves its reply (`[seconds, microseconds]`
 * as strings). Nothing is sent until the first read, nor once `isClosed()` holds. `isConnected`
 * (optional) tells `ready()` that the connection is up, so an unmeasured clock measures at once
 * rather than after the retry delay.
 */
export function serverClock(
  time: () => Promise<unknown>,
  isClosed: () => boolean,
  isConnected?: () => boolean
): ServerClock {
  // The server's epoch ms at monotonic time `serverAt` (unknown until a TIME answers): the
  // estimate follows elapsed time from there, never the wall clock.
  let serverMs: number | undefined
  let serverAt = 0
  // How far off the estimate may have been when taken (half its sample's round trip, ms).
  let error = Number.POSITIVE_INFINITY
  // Whether the next answer replaces the estimate whatever its round trip: the first one, after a
  // wall-clock step (a VM resume may have paused the monotonic clock too) or a reconnection (the
  // server may be another one).
  let force = true
  let refinesLeft = 0
  // When the last measurement answered (a failed one counts as older), on the monotonic clock and
  // on the wall clock: elapsed time gives its age, the two together a step of the wall clock.
  let measuredAt = Number.NEGATIVE_INFINITY
  let measuredWall = Number.NEGATIVE_INFINITY
  let measuring = false
  // What `ready()` callers wait on while a measurement is out (made only when one waits, so a
  // refresh costs no promise), told whether the server's clock is known once it settles.
  let wait: Promise<boolean> | undefined
  let waitDone: ((known: boolean) => void) | undefined
  const answered = (): void => {
    measuring = false
    const done = waitDone
    wait = waitDone = undefined
    done?.(serverMs !== undefined)
  }
  const measure = (refine: boolean): void => {
    measuring = true
    const sent = monotonicNow()
    time().then(
      (reply) => {
        const received = monotonicNow()
        const ms = timeReplyMs(reply)
        if (ms !== undefined) {
          // The server answered at the round trip's midpoint, timed monotonically: a step of the
          // wall clock during the round trip does not skew it.
          const half = (received - sent) / 2
          if (force || half <= error + (received - serverAt) * CLOCK_DRIFT) {
            serverMs = ms + half
            serverAt = received
            error = half
          }
          force = false
          refinesLeft = refine ? refinesLeft - 1 : CLOCK_REFINE_SAMPLES
        }
        measuredAt = received
        measuredWall = Date.now()
        answered()
      },
      () => {
        // Unreachable now (the store's own policies report it): keep the last measurement.
        measuredAt = monotonicNow() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        measuredWall = Date.now() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        refinesLeft = 0
        answered()
      }
    )
  }
  const now = (): number => {
    const elapsedNow = monotonicNow()
    if (!measuring) {
      const elapsed = elapsedNow - measuredAt
      if (Math.abs(Date.now() - measuredWall - elapsed) >= CLOCK_STEP_MS) {
        if (!isClosed()) {
          force = true
          measure(false)
        }
      } else if (elapsed >= CLOCK_REFRESH_MS) {
        if (!isClosed()) measure(false)
      } else if (
        refinesLeft > 0 &&
        error > CLOCK_PRECISE_MS &&
        elapsed >= CLOCK_REFINE_GAP_MS &&
        !isClosed()
      ) {
        measure(true)
      }
    }
    return serverMs === undefined ? Date.now() : Math.floor(serverMs + (elapsedNow - serverAt))
  }
  return {
    now,
    ready() {
      if (serverMs !== undefined) return KNOWN
      if (!measuring && !isClosed()) {
        // Connected: measure now rather than after the retry delay; otherwise a read sends the
        // first TIME, or the next one once the retry delay is over.
        if (isConnected?.() === true) measure(false)
        else now()
      }
      if (!measuring) return UNKNOWN
      wait ??= new Promise<boolean>((resolve) => {
        waitDone = resolve
      })
      return wait
    },
    connected() {
      // The server may be another one: its first answer replaces the estimate, even that of a
      // measurement out now. `measuredAt` is set once a first measurement has answered or failed.
      force = true
      if (!measuring && measuredAt !== Number.NEGATIVE_INFINITY && !isClosed()) measure(false)
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
