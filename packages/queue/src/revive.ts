/**
 * @module revive
 * The connections the queue and the worker open themselves (`duplicate()`s of the app's client)
 * connected again after an `'end'` nobody asked for. ioredis 6's Sentinel failover detector ends a
 * client for good (status `'end'`, every command `Connection is closed.`) when the sentinel's
 * `+switch-master` arrives while the client is reconnecting, as after its master crashed; a
 * duplicate does not inherit whatever the app does about that for its own client.
 */
import type { RedisConnection } from './redis-types.js'

/** Delays between attempts when the connection has no `retryStrategy` (ioredis's default one). */
const defaultDelay = (attempt: number): number => Math.min(attempt * 50, 2000)

/**
 * Connects `conn` again after an `'end'` that neither its own `quit()` / `disconnect()` caused
 * (until a later `connect()` opens it again, as BullMQ does to reset its blocking connection) nor
 * the returned stop. ioredis clears its own "closed on purpose" flag before `'end'`, so those calls
 * are watched on the connection itself. Attempts follow the connection's `retryStrategy` (counted
 * from the first `'end'` since it was last ready); one that answers no number leaves it ended, as
 * ioredis itself would leave a dropped connection.
 */
export function reviveOnUnexpectedEnd(conn: RedisConnection): () => void {
  let closedOnPurpose = false
  let stopped = false
  let attempts = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const connect = conn.connect.bind(conn)
  const disconnect = conn.disconnect.bind(conn)
  const quit = conn.quit.bind(conn)
  conn.connect = ((...args: Parameters<RedisConnection['connect']>) => {
    closedOnPurpose = false
    return connect(...args)
  }) as RedisConnection['connect']
  conn.disconnect = (reconnect?: boolean) => {
    if (!reconnect) closedOnPurpose = true
    disconnect(reconnect)
  }
  conn.quit = ((...args: Parameters<RedisConnection['quit']>) => {
    closedOnPurpose = true
    return quit(...args)
  }) as RedisConnection['quit']
  // 'end' is emitted a tick after the status changed: a connect() made meanwhile is not undone.
  const ended = (): boolean => !stopped && !closedOnPurpose && conn.status === 'end'
  const onReady = (): void => {
    attempts = 0
  }
  const onEnd = (): void => {
    if (!ended() || timer) return
    const strategy = (conn.options as { retryStrategy?: unknown }).retryStrategy
    attempts += 1
    const delay = typeof strategy === 'function' ? strategy(attempts) : defaultDelay(attempts)
    if (typeof delay !== 'number') return
    timer = setTimeout(() => {
      timer = undefined
      // A failed attempt ends the connection again: its 'end' schedules the next one.
      if (ended()) connect().catch(() => undefined)
    }, delay)
    timer.unref?.()
  }
  conn.on('ready', onReady)
  conn.on('end', onEnd)
  return () => {
    stopped = true
    clearTimeout(timer)
    timer = undefined
    conn.off('ready', onReady)
    conn.off('end', onEnd)
  }
}
