/**
 * @module bounded-close
 * Closing the worker's connections without hanging on a Redis outage. On a
 * `maxRetriesPerRequest: null` connection (what BullMQ needs) a command sent while Redis is down
 * waits until Redis is back: BullMQ's own fetch of the next job, a hand-over's move, a completion,
 * and a QUIT queued behind them, so BullMQ's waiting close never returns. Ending the connection
 * fails them at once.
 */
import type { RedisConnection } from './redis-types.js'
import { reviveOnUnexpectedEnd } from './revive.js'

/** Whether `promise` settled within `waitMs` (it is left running either way). */
export async function settledWithin(promise: Promise<unknown>, waitMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs)
    timer.unref?.()
  })
  const settled = promise.then(
    () => true as const,
    () => true as const
  )
  const outcome = await Promise.race([settled, late])
  clearTimeout(timer)
  return outcome
}

/**
 * Ends `conn` for good, failing the commands waiting on it. ioredis's `disconnect()` during a
 * reconnect delay only clears the retry timer: the connection then neither retries nor ends, and
 * its waiting commands (and BullMQ, waiting for its 'end') wait forever. One last attempt, made
 * after `disconnect()`, ends it either way: it fails (Redis still down), or it connects and is
 * disconnected at once.
 */
function endForGood(conn: RedisConnection): void {
  if (conn.status === 'end') return
  const retrying = conn.status === 'reconnecting'
  conn.disconnect()
  if (!retrying && conn.status !== 'reconnecting') return
  conn.once('ready', () => conn.disconnect())
  conn.connect().catch(() => undefined)
}

/** The connection handed to BullMQ, and the ones BullMQ duplicates from it (its blocking reads). */
export interface AbandonableConnection {
  readonly conn: RedisConnection
  /** Ends them all for good: every command waiting on them fails at once. */
  abandon(): void
}

/**
 * `redis.duplicate(options)`, abandonable along with its own duplicates. Each of them is connected
 * again after an `'end'` that was not asked for (see `reviveOnUnexpectedEnd`): BullMQ waits for an
 * ended connection no more than for a closed one, so the worker would stop taking jobs for good.
 */
export function abandonableDuplicate(
  redis: RedisConnection,
  options: Record<string, unknown>
): AbandonableConnection {
  type Duplicate = (o?: object) => RedisConnection
  const conn = (redis.duplicate as Duplicate).call(redis, options)
  const own = (conn.duplicate as Duplicate).bind(conn)
  const family = [conn]
  const stops = [reviveOnUnexpectedEnd(conn)]
  conn.duplicate = ((o?: object) => {
    const d = own(o)
    family.push(d)
    stops.push(reviveOnUnexpectedEnd(d))
    return d
  }) as RedisConnection['duplicate']
  return {
    conn,
    abandon() {
      // Before ending them: `endForGood`'s last connect() is meant to end, not to be retried.
      for (const stop of stops) stop()
      for (const c of family) endForGood(c)
    },
  }
}

/** QUIT when the connection is up and answers within `waitMs`; otherwise abandons it. */
export async function quitWithin(c: AbandonableConnection, waitMs: number): Promise<void> {
  if (c.conn.status === 'ready' && (await settledWithin(c.conn.quit(), waitMs))) return
  c.abandon()
}
