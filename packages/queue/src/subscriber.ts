/**
 * @module subscriber
 * One pub/sub connection per queue object, shared by every follower and budget hold: channels are
 * reference-counted, so a thousand browsers following jobs cost one Redis connection.
 */
import { AsyncResource } from 'node:async_hooks'
import { QueueClosedError } from './errors.js'
import type { RedisConnection } from './redis-types.js'
import { reviveOnUnexpectedEnd } from './revive.js'

type Listener = (message: string) => void

/**
 * A lazily opened subscriber connection (a `duplicate()` of the queue's connection). Once closed it
 * stays closed: `subscribe` rejects with `QueueClosedError` instead of opening a new connection.
 */
export class Subscriber {
  #conn: RedisConnection | undefined
  #stopReviving: (() => void) | undefined
  readonly #closing = new AbortController()
  readonly #listeners = new Map<string, Set<Listener>>()
  readonly #subscribed = new Map<string, Promise<unknown>>()

  /**
   * Opens the connection in the async context the queue object was created in, not in the one of
   * the first request that subscribes: the connection's socket and timers would otherwise keep that
   * request's scope (its Context: request, response, body, state) reachable until `close()`, and
   * every message callback would run as part of that long-finished request.
   */
  readonly #open: () => RedisConnection

  constructor(private readonly connection: RedisConnection) {
    this.#open = AsyncResource.bind(() =>
      (connection.duplicate as () => RedisConnection).call(connection)
    )
  }

  #connection(): RedisConnection {
    if (!this.#conn) {
      const conn = this.#open()
      conn.on('message', (channel: string, message: string) => {
        const set = this.#listeners.get(channel)
        if (set) for (const listener of [...set]) listener(message)
      })
      // A dropped connection is re-established by ioredis (channels resubscribed); followers
      // re-read the log on their poll, so a lost message is only a delay.
      conn.on('error', () => {})
      // Ended for good by ioredis (a Sentinel failover after its master crashed): connected again
      // (channels resubscribed by ioredis), and at once when a subscriber needs it meanwhile.
      this.#stopReviving = reviveOnUnexpectedEnd(conn)
      this.#conn = conn
    } else if (this.#conn.status === 'end') {
      this.#conn.connect().catch(() => undefined)
    }
    return this.#conn
  }

  /** Aborted (reason: a `QueueClosedError`) when `close()` is called. */
  get closed(): AbortSignal {
    return this.#closing.signal
  }

  /**
   * Subscribes `listener` to `channel`; resolves once Redis confirmed. Returns the unsubscribe.
   * @throws QueueClosedError after `close()`.
   */
  async subscribe(channel: string, listener: Listener): Promise<() => void> {
    this.#closing.signal.throwIfAborted()
    let set = this.#listeners.get(channel)
    if (!set) {
      set = new Set()
      this.#listeners.set(channel, set)
      this.#subscribed.set(channel, this.#subscribeTo(channel))
    }
    set.add(listener)
    const pending = this.#subscribed.get(channel)
    try {
      await pending
    } catch (error) {
      this.#remove(channel, listener)
      this.#closing.signal.throwIfAborted() // closed while subscribing: say so
      throw error
    }
    let done = false
    return () => {
      if (done) return
      done = true
      this.#remove(channel, listener)
    }
  }

  /**
   * SUBSCRIBE, made once more when the connection ended under it (ioredis fails the commands it
   * holds with `Connection is closed.`, as when a Sentinel failover ends it): it is connected again.
   */
  async #subscribeTo(channel: string): Promise<unknown> {
    try {
      return await this.#connection().subscribe(channel)
    } catch (error) {
      const ended = error instanceof Error && error.message === 'Connection is closed.'
      if (!ended || this.#closing.signal.aborted) throw error
      return this.#connection().subscribe(channel)
    }
  }

  #remove(channel: string, listener: Listener): void {
    const set = this.#listeners.get(channel)
    if (!set) return
    set.delete(listener)
    if (set.size > 0) return
    this.#listeners.delete(channel)
    this.#subscribed.delete(channel)
    this.#conn?.unsubscribe(channel).catch(() => undefined)
  }

  /**
   * Closes the connection for good and aborts `closed`: followers still iterating watch it and
   * reject with `QueueClosedError` at once.
   */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) this.#closing.abort(new QueueClosedError())
    this.#listeners.clear()
    this.#subscribed.clear()
    const conn = this.#conn
    this.#conn = undefined
    this.#stopReviving?.()
    if (conn) await conn.quit().catch(() => conn.disconnect())
  }
}
