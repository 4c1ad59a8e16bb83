/**
 * @module bus
 * The invalidation bus: Redis Pub/Sub between cache instances. It carries keys and tags, never
 * values (like bentocache), with the sender's id so an instance skips its own echoes and a timestamp
 * so a late message never drops a newer local entry.
 */
import { InvalidOptionsError } from '@aikit/core'
import { assertSentinelFailoverDetector, rejectUnknownOptions } from '@aikit/core/adapter'

/** The part of an ioredis client the bus uses to publish. */
export interface BusPublisher {
  publish(channel: string, message: string): Promise<unknown>
}

/** The part of an ioredis client (in subscriber mode) the bus uses to listen. */
export interface BusSubscriber {
  subscribe(channel: string): Promise<unknown>
  unsubscribe(channel: string): Promise<unknown>
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  off(event: 'message', listener: (channel: string, message: string) => void): unknown
}

/** The connection the bus makes with `client.duplicate()`: its errors are the bus's to handle. */
type OwnedSubscriber = BusSubscriber & {
  quit?(): Promise<unknown>
  disconnect?(): void
  on(event: 'error', listener: (error: unknown) => void): unknown
}

/** Bus option: two connections (a subscribed ioredis connection cannot publish), or one to `duplicate()`. */
export type BusOption =
  | { publisher: BusPublisher; subscriber: BusSubscriber; channel?: string }
  | {
      client: BusPublisher & { duplicate(): OwnedSubscriber }
      channel?: string
    }

/** The keys of each form of `BusOption` (the connections themselves are ioredis's, not checked). */
const OWN_CONNECTION_KEYS = ['client', 'channel'] as const satisfies readonly (keyof Extract<
  BusOption,
  { client: unknown }
>)[]
const TWO_CONNECTION_KEYS = [
  'publisher',
  'subscriber',
  'channel',
] as const satisfies readonly (keyof Extract<BusOption, { publisher: unknown }>)[]

/** One bus message. `o`: `s` = key set/filled, `d` = key deleted, `t` = tags invalidated. */
export interface BusMessage {
  /** Sender instance id. */
  readonly i: string
  readonly o: 's' | 'd' | 't'
  /** Full keys (`s`, `d`) or tags (`t`). */
  readonly k: readonly string[]
  /**
   * When it happened (whole epoch ms). For `s`, the new entry's `createdAt` (when its fetch
   * started): receivers drop, and no longer keep, entries of the key created before it.
   */
  readonly a: number
  /**
   * The sender's key space (its store's key prefix and the Redis database, see `connectBus`):
   * Pub/Sub channels are server-wide, whatever the prefix or the `SELECT`ed database, so an
   * instance ignores a message from another space (another app on the same Redis). Absent from
   * messages sent by versions before 2026-11-29 (followed as before) and without a store.
   */
  readonly s?: string
}

/**
 * Where a shared subscriber connection counts the buses listening on each channel: closing one
 * cache must not unsubscribe a channel another cache of the process still listens on (caches of
 * one namespace share its default channel). Kept on the connection, under a registered symbol, so
 * two copies of this package count together.
 */
const CHANNEL_USERS: unique symbol = Symbol.for('@aikit/cache.bus-channel-users') as never

type CountedSubscriber = BusSubscriber & { [CHANNEL_USERS]?: Map<string, number> }

function channelUsers(subscriber: BusSubscriber): Map<string, number> {
  const s = subscriber as CountedSubscriber
  let users = s[CHANNEL_USERS]
  if (users === undefined) {
    users = new Map()
    Object.defineProperty(s, CHANNEL_USERS, { value: users, enumerable: false })
  }
  return users
}

/**
 * The key space a bus message belongs to: the store's (`storeSpace`, its key prefix), and the
 * database the bus connection selected (two apps with the same prefix in two databases of one
 * Redis share no key, but do share every channel). `undefined` without a store.
 */
function busSpace(option: BusOption, storeSpace: string | undefined): string | undefined {
  if (storeSpace === undefined) return undefined
  const connection = ('client' in option ? option.client : option.publisher) as {
    options?: { db?: unknown }
  }
  const db = connection.options?.db
  return typeof db === 'number' ? `${storeSpace}@${db}` : storeSpace
}

/** A connected bus. */
export interface Bus {
  publish(message: BusMessage): void
  close(): Promise<void>
}

/**
 * Checks the `bus` option's shape; throws `InvalidOptionsError` naming the field, an unknown key
 * included (a misspelt `channel` would put this instance on the default channel, deaf to the others).
 */
export function validateBus(bus: unknown): BusOption {
  if (bus === null || typeof bus !== 'object')
    throw new InvalidOptionsError('bus', 'must be an object')
  const b = bus as Record<string, unknown>
  if (b.channel !== undefined && (typeof b.channel !== 'string' || b.channel.length === 0)) {
    throw new InvalidOptionsError('bus.channel', 'must be a non-empty string')
  }
  rejectUnknownOptions(b, 'client' in b ? OWN_CONNECTION_KEYS : TWO_CONNECTION_KEYS, 'bus.')
  if ('client' in b) {
    const c = b.client as Record<string, unknown> | null
    if (!c || typeof c.publish !== 'function' || typeof c.duplicate !== 'function') {
      throw new InvalidOptionsError('bus.client', 'must be an ioredis client (publish, duplicate)')
    }
    // A bus left on the old master after a failover splits the instances: invalidations are lost.
    assertSentinelFailoverDetector(c, 'bus.client')
    return bus as BusOption
  }
  const p = b.publisher as Record<string, unknown> | null
  if (!p || typeof p.publish !== 'function') {
    throw new InvalidOptionsError('bus.publisher', 'must be an ioredis client (publish)')
  }
  const s = b.subscriber as Record<string, unknown> | null
  if (!s || typeof s.subscribe !== 'function' || typeof s.on !== 'function') {
    throw new InvalidOptionsError('bus.subscriber', 'must be an ioredis client (subscribe, on)')
  }
  assertSentinelFailoverDetector(p, 'bus.publisher')
  assertSentinelFailoverDetector(s, 'bus.subscriber')
  return bus as BusOption
}

/**
 * Connects the bus. Publishing is fire-and-forget: a failure calls `onError` and never fails the
 * cache call (other instances then keep a stale L1 entry until its TTL, the documented degradation).
 */
export function connectBus(
  option: BusOption,
  defaultChannel: string,
  /** The key space of the cache's store (`BusMessage.s`), or `undefined` without a store. */
  storeSpace: string | undefined,
  instanceId: string,
  onMessage: (message: BusMessage) => void,
  onError: (error: unknown) => void,
  onResync: () => void
): Bus {
  const channel = option.channel ?? defaultChannel
  const space = busSpace(option, storeSpace)
  let publisher: BusPublisher
  let subscriber: BusSubscriber & { quit?(): Promise<unknown>; disconnect?(): void }
  let owned = false
  if ('client' in option) {
    publisher = option.client
    const own = option.client.duplicate()
    // Without a listener, ioredis prints every failed reconnect of this connection as an
    // unhandled 'error' event during an outage; here they count as bus errors instead.
    own.on('error', onError)
    subscriber = own
    owned = true
  } else {
    publisher = option.publisher
    subscriber = option.subscriber
  }
  const listener = (ch: string, text: string): void => {
    if (ch !== channel) return
    let message: BusMessage
    try {
      message = JSON.parse(text) as BusMessage
    } catch {
      return
    }
    if (message.i === instanceId || !Array.isArray(message.k)) return
    if (message.s !== undefined && message.s !== space) return
    onMessage(message)
  }
  subscriber.on('message', listener)
  // ioredis resubscribes after a reconnect only the channels Redis confirmed: a SUBSCRIBE given
  // up while Redis was down (a deploy during a Redis restart: MaxRetriesPerRequestError) is sent
  // again on the connection's next 'ready' (below), or the instance would never hear the others.
  let subscribed = false
  let subscribing = false
  let subscribeFailed = false
  let closed = false
  const subscribe = (): void => {
    if (subscribing || subscribed || closed) return
    subscribing = true
    subscriber.subscribe(channel).then(
      () => {
        subscribing = false
        subscribed = true
      },
      (error: unknown) => {
        subscribing = false
        subscribeFailed = true
        onError(error)
      }
    )
  }
  subscribe()
  if (!owned) {
    const users = channelUsers(subscriber)
    users.set(channel, (users.get(channel) ?? 0) + 1)
  }
  // Pub/Sub does not queue: what was published while the subscriber was disconnected is lost.
  // Once it is back (ioredis resubscribes), `onResync` drops what those messages could have made
  // out of date, instead of serving it until its TTL.
  const events = subscriber as unknown as {
    on?(event: 'close' | 'ready', listener: () => void): unknown
    off?(event: 'close' | 'ready', listener: () => void): unknown
  }
  let lost = false
  const onClose = (): void => {
    lost = true
  }
  const onReady = (): void => {
    if (!subscribed) {
      if (!subscribeFailed) return // the first SUBSCRIBE is still on its way
      // Never subscribed (see above): what was published meanwhile was missed, as after a loss.
      subscribeFailed = false
      subscribe()
      onResync()
      return
    }
    if (!lost) return
    lost = false
    onResync()
  }
  if (typeof events.on === 'function') {
    events.on('close', onClose)
    events.on('ready', onReady)
  }
  return {
    publish(message) {
      try {
        const sent = space === undefined ? message : { ...message, s: space }
        publisher.publish(channel, JSON.stringify(sent)).catch(onError)
      } catch (error) {
        onError(error)
      }
    },
    async close() {
      // Once: a second close must not count this bus off the channel again.
      if (closed) return
      closed = true
      subscriber.off('message', listener)
      if (typeof events.off === 'function') {
        events.off('close', onClose)
        events.off('ready', onReady)
      }
      if (owned) {
        // Our own subscriber-only connection: nothing of ours is pending on it, and Redis drops a
        // closed connection's subscriptions itself. Closed at once, not with UNSUBSCRIBE and
        // QUIT, which during an outage wait in ioredis's offline queue through all its retries
        // (20 by default: a shutdown hung for many seconds).
        if (typeof subscriber.disconnect === 'function') subscriber.disconnect()
        else await subscriber.quit?.().catch(() => undefined)
        return
      }
      // The app's connection: unsubscribed only once no other bus on it listens on the channel.
      const users = channelUsers(subscriber)
      const left = (users.get(channel) ?? 1) - 1
      if (left > 0) {
        users.set(channel, left)
        return
      }
      users.delete(channel)
      // Sent, not awaited: this bus already stopped listening, and during an outage the command
      // waits in ioredis's offline queue until the connection is back (or its retries run out).
      subscriber.unsubscribe(channel).catch(() => undefined)
    },
  }
}
