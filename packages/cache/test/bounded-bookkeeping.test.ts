// Per-key and per-subscription bookkeeping is dropped once it is over: a process running for
// weeks keeps nothing for each key it ever waited on, or each listener it ever removed.
import { memoryStore } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'

/** The engine's per-key waiter registry (internal; no public introspection exists for it). */
const waitersOf = (cache: unknown): Map<string, unknown> =>
  (cache as { engine: { waiters: Map<string, unknown> } }).engine.waiters

/** Resolves once `predicate()` holds (bounded poll, 5 s). */
async function until(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 1))
  }
}

describe('cross-instance fill waiting keeps nothing per key once the wait is over', () => {
  // Promise: the memory tier is bounded (`memory.maxEntries`, README.md table) and a waiting
  // instance "re-checks the store when no bus message arrives" (options.ts `pollInterval`); a bus
  // is optional ("Default none"). A production instance without a bus waits on other instances'
  // fills for every hot key it ever sees.
  // Before the fix: each key this instance ever waited on without a bus wake-up (no bus configured, or the
  // other instance's fetch failed so nothing was published) leaves an empty `Set` in
  // `engine.waiters` forever: 50 keys waited on -> 50 entries, growing per distinct key.
  // The cause was packages/cache/src/cache.ts:1098-1110 (`waitForFill`): the timer path `done` removes
  // its callback from the key's Set (`e.waiters.get(full)?.delete(done)`) but never deletes the
  // emptied Set from the Map; only `wake()` (cache.ts:291) deletes map entries, and wake runs only
  // on a bus message or on this instance's own write of the key.
  it('drops the waiter entry of a key once its wait ended by polling (no bus)', async () => {
    const store = memoryStore()
    const filler = createCache({ store, pollInterval: 5 })
    const waiter = createCache({ store, pollInterval: 5 })
    try {
      const keys = 50
      for (let i = 0; i < keys; i++) {
        let release!: () => void
        const gate = new Promise<void>((r) => {
          release = r
        })
        let started!: () => void
        const fetching = new Promise<void>((r) => {
          started = r
        })
        const filling = filler.getOrSet(`key-${i}`, async () => {
          started()
          await gate
          return i
        })
        // The filler's fetcher runs: it holds the store lock before the second instance asks.
        await fetching
        const waiting = waiter.getOrSet(`key-${i}`, async () => -1)
        await until(() => waitersOf(waiter).has(`key-${i}`))
        release()
        expect(await filling).toBe(i)
        expect(await waiting).toBe(i)
      }
      expect(waitersOf(waiter).size).toBe(0)
    } finally {
      await filler.close()
      await waiter.close()
    }
  })
})

describe('a store event subscription removed with its unsubscribe is forgotten', () => {
  // Promise: `on(...)` returns "() => void" (types.ts:110-111, "Subscribes to `error` (absorbed
  // failures) and the store's `degraded` / `recovered`"): calling it ends the subscription; the
  // `error` subscription's unsubscribe drops the listener at once (cache.ts:880).
  // Before the fix: for 'degraded' / 'recovered', every `on()` pushes its unsubscribe (which holds the
  // listener and whatever it closes over) onto the cache's `unsubscribers` array, and calling the
  // returned unsubscribe never takes it out: 1,000 subscribe/unsubscribe pairs (e.g. one per
  // request or per job watching the store) leave 1,000 entries until `cache.close()`.
  // The cause was packages/cache/src/cache.ts:889-891 (`this.unsubscribers.push(off); return off`): the
  // returned function is the store's bare `off`, not one that also removes itself from the array.
  it('keeps no entry for an unsubscribed degraded/recovered listener', async () => {
    const cache = createCache({ store: memoryStore() })
    try {
      const unsubscribers = (cache as unknown as { unsubscribers: Set<unknown> }).unsubscribers
      const before = unsubscribers.size
      for (let i = 0; i < 1000; i++) {
        const off = cache.on(i % 2 === 0 ? 'degraded' : 'recovered', () => {})
        off()
      }
      expect(unsubscribers.size - before).toBe(0)
    } finally {
      await cache.close()
    }
  })
})
