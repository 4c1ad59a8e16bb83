/**
 * @module keep-held
 * A budget hold kept for as long as its call runs. A reservation lapses by itself after the
 * budget's `reservationTtl` (10 minutes by default: a crashed process's hold frees itself), and a
 * call can outlive that (a long stream, a slow answer, the SDK's retries): its hold would lapse
 * mid-call and other calls could spend what this one is about to be charged. So the hold is
 * extended by its own TTL every third of it while the call is waited on: until its answer comes
 * (the SDK's `timeout` bounds that wait), then while its stream is read. A stream nobody reads any
 * more (dropped without `break` or abort), or whose provider has sent nothing for longer than the
 * SDK's `timeout` (a stalled connection), is not kept: its hold lapses, as a crashed process's.
 */
import type { Reservation } from '@aikit/cost'

/** The renewal of one call's hold. */
export interface KeptHold {
  /**
   * From now on, renews the hold only after a tick in which `read()` changed (the call's stream
   * was read) or while `reading()` is true (a read is waiting on the provider) for less than
   * `stallMs()` since the last read (asked at each tick: the callers reading a shared stream come
   * and go). Stops for good once a whole TTL has passed without either: the hold has lapsed then.
   */
  watch(read: () => number, reading: () => boolean, stallMs: () => number): void
  /** Stops renewing (the call is being settled or released). Idempotent. */
  stop(): void
}

const NOT_KEPT: KeptHold = { watch: () => {}, stop: () => {} }

/**
 * The longest delay a timer can wait (2^31 - 1 ms, about 24.8 days): Node fires a longer one after
 * 1 ms, which renewed a hold of more than about 74 days on every millisecond of its call.
 */
const MAX_TIMER_MS = 2_147_483_647

/**
 * Starts renewing `reservation` every third of its TTL (measured now: its expiry minus the store's
 * clock, `storeNow`). The timer never keeps the process alive.
 */
export function keepHeld(reservation: Reservation, storeNow: (() => number) | undefined): KeptHold {
  let now: number
  try {
    now = storeNow?.() ?? Date.now()
  } catch {
    now = Date.now()
  }
  const ttl = Math.floor(reservation.expiresAt - now)
  if (!(ttl > 0)) return NOT_KEPT
  const every = Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(ttl / 3)))
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let extending = false
  let read: (() => number) | undefined
  let reading: (() => boolean) | undefined
  let stall: () => number = () => 0
  let lastRead = 0
  let readAt = 0
  let idle = 0
  const stop = (): void => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const tick = (): void => {
    timer = undefined
    if (stopped) return
    let active = true
    if (read !== undefined) {
      const count = read()
      const at = performance.now()
      if (count !== lastRead) readAt = at
      active = count !== lastRead || (reading?.() === true && at - readAt < stall())
      lastRead = count
    }
    if (!active) {
      // Three idle ticks: a whole TTL since the last renewal, the hold has lapsed.
      if (++idle >= 3) {
        stop()
        return
      }
    } else if (!extending) {
      idle = 0
      extending = true
      reservation.extend(ttl).then(
        (extended) => {
          extending = false
          // Settled, released or lapsed meanwhile: nothing left to keep.
          if (!extended) stop()
        },
        () => {
          // The store failed this time (an outage): the next tick tries again.
          extending = false
        }
      )
    }
    schedule()
  }
  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(tick, every)
    ;(timer as { unref?: () => void }).unref?.()
  }
  schedule()
  return {
    watch(r, waiting, stallMs) {
      read = r
      reading = waiting
      stall = stallMs
      lastRead = r()
      readAt = performance.now()
    },
    stop,
  }
}
