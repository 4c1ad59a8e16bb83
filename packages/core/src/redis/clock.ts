/**
 * @module redis/clock
 * The Redis server's clock as seen from this process, read without a round trip: the offset
 * between the server's `TIME` and the local clock, measured by one `TIME` in the background
 * whenever the last measurement is older than a minute (taken halfway through its round trip).
 * Ops compute absolute times on the server's clock (`TIME` is their only clock); this turns such
 * a time into a duration from now even when the two machines' clocks disagree.
 */

/** How old a measurement may get before a read starts a new one. */
export const CLOCK_REFRESH_MS = 60_000
/** After a failed measurement (server unreachable), how long until a read tries again. */
export const CLOCK_RETRY_MS = 5_000

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
  let measuredAt = Number.NEGATIVE_INFINITY
  let measuring = false
  const measure = (): void => {
    measuring = true
    const sent = Date.now()
    time().then(
      (reply) => {
        const received = Date.now()
        const serverMs = timeReplyMs(reply)
        if (serverMs !== undefined) offset = Math.round(serverMs - (sent + received) / 2)
        measuredAt = received
        measuring = false
      },
      () => {
        // Unreachable now (the store's own policies report it): keep the last offset.
        measuredAt = Date.now() - CLOCK_REFRESH_MS + CLOCK_RETRY_MS
        measuring = false
      }
    )
  }
  return {
    now() {
      const local = Date.now()
      if (!measuring && local - measuredAt >= CLOCK_REFRESH_MS && !isClosed()) measure()
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
