/**
 * @module settle-retry
 * Settles the store could not take (an outage: Redis down, a breaker open) tried again in the
 * background, for as long as a retry cannot charge twice. A settle leaves a tombstone that lives
 * until the hold's expiry plus `tombstoneTtl`: within that window a retry whose earlier attempt
 * did run (its reply lost) is recognised and charges nothing more; past it, a retry cannot be told
 * from a late first settle and could charge again. So retries stop a margin before the window
 * closes. Pending retries are bounded (the oldest is given up for a new one); each one given up is
 * reported (`'unsettled'` on the budget). Timers never keep the process alive: a process that exits
 * loses its pending retries (their holds lapse by themselves).
 */

/** Delays (ms) before each retry after the first failure; the last one repeats. */
export const SETTLE_RETRY_DELAYS_MS: readonly number[] = [
  250, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000,
]

/** Why a pending settle was given up. */
export type UnsettledReason = 'expired' | 'overflow'

/** One settle to retry. */
export interface SettleRetry {
  /** Runs the settle once; rejects when the store failed again. */
  attempt(): Promise<unknown>
  /** The last moment (store clock, epoch ms) a retry may start without risking a double charge. */
  until(): number
  /** Reports that the settle was given up. */
  dropped(reason: UnsettledReason): void
}

/** The pending retries of one budget. */
export interface SettleRetries {
  /** Starts retrying `retry` (once per `owner`: adding an owner already pending does nothing). */
  add(owner: object, retry: SettleRetry): void
  /** How many settles are waiting for a retry. */
  readonly size: number
}

interface Pending {
  readonly retry: SettleRetry
  timer: ReturnType<typeof setTimeout> | undefined
  gone: boolean
}

/**
 * Pending settle retries, at most `max` at a time; `now` is the store's clock (the one holds expire
 * on).
 */
export function createSettleRetries(max: number, now: () => number): SettleRetries {
  const pending = new Map<object, Pending>()

  const give = (owner: object, p: Pending, reason: UnsettledReason): void => {
    p.gone = true
    if (p.timer !== undefined) clearTimeout(p.timer)
    p.timer = undefined
    if (pending.get(owner) === p) pending.delete(owner)
    p.retry.dropped(reason)
  }

  const schedule = (owner: object, p: Pending, n: number): void => {
    if (p.gone) return
    let at: number
    let limit: number
    try {
      at = now()
      limit = p.retry.until()
    } catch {
      at = Date.now()
      limit = Number.NaN
    }
    const base = SETTLE_RETRY_DELAYS_MS[Math.min(n, SETTLE_RETRY_DELAYS_MS.length - 1)] as number
    // Long waits are spread (±20%): settles that failed together do not all come back together.
    let delay = base >= 8000 ? Math.round(base * (0.8 + Math.random() * 0.4)) : base
    // The last retry starts at the limit; past it (or when that one fails too), it is given up.
    const last = !(at + delay <= limit)
    if (last) delay = limit - at
    if (!(delay > 0)) {
      give(owner, p, 'expired')
      return
    }
    p.timer = setTimeout(() => {
      p.timer = undefined
      if (p.gone) return
      let attempt: Promise<unknown>
      try {
        attempt = Promise.resolve(p.retry.attempt())
      } catch (error) {
        attempt = Promise.reject(error)
      }
      attempt.then(
        () => {
          p.gone = true
          if (pending.get(owner) === p) pending.delete(owner)
        },
        () => {
          if (p.gone) return
          if (last) give(owner, p, 'expired')
          else schedule(owner, p, n + 1)
        }
      )
    }, delay)
    ;(p.timer as { unref?: () => void }).unref?.()
  }

  return {
    add(owner, retry) {
      if (pending.has(owner)) return
      const p: Pending = { retry, timer: undefined, gone: false }
      if (pending.size >= Math.max(1, max)) {
        // The oldest pending settle makes room: its retry window is the nearest to closing.
        const [oldOwner, old] = pending.entries().next().value as [object, Pending]
        give(oldOwner, old, 'overflow')
      }
      pending.set(owner, p)
      schedule(owner, p, 0)
    },
    get size() {
      return pending.size
    },
  }
}
