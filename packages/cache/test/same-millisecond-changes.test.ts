/**
 * Changes made in the same millisecond (one clock for every instance here, the worst case of a
 * busy key): stamps must still order them. A `set` heard on the bus makes the next entry of the key
 * stamped after it, so its own bus message drops the older entry everywhere; a set heard while a
 * fetch of the key runs drops that fetch, not the set value; an invalidation catches every entry
 * created before it, even one stamped a millisecond ahead of the clock.
 * Shared `memoryStore()` instances stand in for Redis (the same ops run as their JS twins); the bus
 * is an in-process hub.
 */
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'

function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

type Listener = (channel: string, message: string) => void

/**
 * An in-process Pub/Sub hub: each `connect()` is one instance's bus option. Messages are delivered
 * to every subscriber at once, or, once `hold()` was called, when `flush()` is.
 */
function busHub() {
  const listeners = new Set<Listener>()
  let held: [string, string][] | undefined
  const deliver = (channel: string, message: string): void => {
    for (const l of listeners) l(channel, message)
  }
  return {
    hold() {
      held = []
    },
    flush() {
      const queued = held ?? []
      held = undefined
      for (const [channel, message] of queued) deliver(channel, message)
    },
    connect() {
      return {
        publisher: {
          publish: async (channel: string, message: string) => {
            if (held !== undefined) held.push([channel, message])
            else deliver(channel, message)
            return 1
          },
        },
        subscriber: {
          subscribe: async () => 1,
          unsubscribe: async () => 1,
          on: (_event: 'message', l: Listener) => {
            listeners.add(l)
          },
          off: (_event: 'message', l: Listener) => {
            listeners.delete(l)
          },
        },
      }
    },
  }
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

/** Two instances over one store and one bus, reading the same frozen clock. */
function twoInstances() {
  const t = Date.now()
  const now = () => t
  const store = memoryStore()
  const hub = busHub()
  const a = createCache({ store, bus: hub.connect(), now, jitter: 0 })
  const b = createCache({ store, bus: hub.connect(), now, jitter: 0 })
  return { a, b, hub }
}

describe('two sets of a key in the same millisecond on two instances', () => {
  it('the instance whose set was overtaken serves the newer value', async () => {
    const { a, b } = twoInstances()
    await b.set('price', 'v1')
    // A has heard B's set: its own set is later, and B drops v1 from memory.
    await a.set('price', 'v2')
    await tick()
    expect(await a.get('price')).toBe('v2')
    expect(await b.get('price')).toBe('v2')
  })

  it('both instances serve the stored value when neither had heard of the other', async () => {
    const { a, b, hub } = twoInstances()
    hub.hold()
    await a.set('price', 'from-a')
    await b.set('price', 'from-b')
    hub.flush()
    await tick()
    // The store holds B's value (written last); neither instance keeps another in memory.
    expect(await a.get('price')).toBe('from-b')
    expect(await b.get('price')).toBe('from-b')
  })
})

describe('a set on another instance while a fetch of the key runs here', () => {
  it("drops the running fetch's fill, and the set value is read as valid", async () => {
    const { a, b } = twoInstances()
    const slow = gate()
    const filling = b.getOrSet('user', async () => {
      await slow.promise
      return 'fetched-by-b'
    })
    await tick()
    // A writes the key while B's fetch is running: B's fill is out of date, A's value is not.
    await a.set('user', 'set-by-a')
    slow.open()
    // B's caller asked before the set: it gets what B fetched.
    expect(await filling).toBe('fetched-by-b')
    await tick()
    expect(await a.get('user')).toBe('set-by-a')
    // The store holds A's value: B answers it, and getOrSet does not fetch over it.
    expect(await b.get('user')).toBe('set-by-a')
    let refetched = false
    expect(
      await b.getOrSet('user', () => {
        refetched = true
        return 'refetched-by-b'
      })
    ).toBe('set-by-a')
    expect(refetched).toBe(false)
  })
})

describe('an invalidation in the same millisecond as the entries it must catch', () => {
  it('invalidateTags drops an entry set after an earlier invalidation in the same millisecond', async () => {
    const t = Date.now()
    const cache = createCache({ jitter: 0, now: () => t })
    // Any invalidation (here of another tag) in this millisecond stamps the next entry a ms ahead.
    await cache.invalidateTags(['other'])
    await cache.set('k', 'v', { tags: ['t'] })
    await cache.invalidateTags(['t'])
    expect(await cache.get('k')).toBeUndefined()
  })

  it('clear() drops an entry set after an earlier invalidation in the same millisecond', async () => {
    const t = Date.now()
    const cache = createCache({ jitter: 0, now: () => t })
    await cache.invalidateTags(['other'])
    await cache.set('k', 'v')
    await cache.clear()
    expect(await cache.get('k')).toBeUndefined()
  })

  it('does not keep a fill whose fetch started before an invalidation of its tag', async () => {
    const t = Date.now()
    const cache = createCache({ jitter: 0, now: () => t })
    let db = 'old'
    await cache.set('price', db, { tags: ['prices'] })
    // A refresh starts a fetch (it reads the row at once, then the query is slow) ...
    const slow = gate()
    const refreshing = cache.getOrSet(
      'price',
      async () => {
        const row = db
        await slow.promise
        return row
      },
      { refresh: true, tags: ['prices'] }
    )
    await tick()
    // ... the row changes and the app invalidates the tag, while that fetch still runs.
    db = 'new'
    await cache.invalidateTags(['prices'])
    slow.open()
    expect(await refreshing).toBe('old')
    // The fill read the row before the invalidation: it must not be served after it.
    expect(await cache.getOrSet('price', () => db, { tags: ['prices'] })).toBe('new')
  })

  it('another instance drops the entry too (the invalidation time travels on the bus)', async () => {
    const { a, b } = twoInstances()
    await a.invalidateTags(['other'])
    await a.set('k', 'v', { tags: ['t'] })
    expect(await b.get('k')).toBe('v')
    await a.invalidateTags(['t'])
    expect(await a.get('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
  })
})
