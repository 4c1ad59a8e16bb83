// What the accounting table needs around a wrapped client: a cache whose `get` / `set` the test
// can hold or make fail (over @aikit/cache's `createCache` on a real `memoryStore()`), and a real
// @aikit/cost budget whose reservations are counted as they are settled or released.
import { createCache } from '@aikit/cache'
import { memoryStore } from '@aikit/core'
import { type Budget, createBudget, type Reservation } from '@aikit/cost'
import type { LlmCache } from '../src/shared/types.js'

type Mode = 'pass' | 'hold' | 'fail'

/** One operation of the cache (`get` or `set`) the test steers. */
class Gate {
  mode: Mode = 'pass'
  /** Calls made while not passing, still waiting. */
  waiting = 0
  #open: Array<() => void> = []
  #reached: (() => void) | undefined
  reached: Promise<void> = Promise.resolve()

  hold(): void {
    this.mode = 'hold'
    this.reached = new Promise((resolve) => (this.#reached = resolve))
  }

  fail(): void {
    this.mode = 'fail'
  }

  /** Lets every held call through (to the real cache) and passes from now on. */
  release(): void {
    this.mode = 'pass'
    for (const open of this.#open.splice(0)) open()
  }

  run<T>(real: () => Promise<T>): Promise<T> {
    if (this.mode === 'pass') return real()
    if (this.mode === 'fail') return Promise.reject(new Error('cache down'))
    this.waiting++
    this.#reached?.()
    return new Promise<void>((resolve) => this.#open.push(resolve)).then(() => {
      this.waiting--
      return real()
    })
  }
}

/**
 * A reader and a writer sharing one store (the reader's memory tier starts empty, so its hits come
 * from the store through its own `get`); the reader's `get` and `set` go through gates.
 */
export function steeredCache(namespace: string) {
  const store = memoryStore()
  const readerCache = createCache({ store, namespace })
  const writerCache = createCache({ store, namespace })
  const get = new Gate()
  const set = new Gate()
  const reader: LlmCache = {
    get: (key) => get.run(() => readerCache.get(key)),
    set: (key, value) => set.run(() => readerCache.set(key, value)),
  }
  return {
    reader,
    writer: writerCache as LlmCache,
    get,
    set,
    close: () => Promise.all([readerCache.close(), writerCache.close()]),
  }
}

/** How each reservation of a budget ended. */
export interface ReservationLedger {
  made: number
  /** Settles that charged (the first of a reservation). */
  settled: number
  /** Releases that freed a live hold. */
  released: number
  /** Calls to `settle` / `release` after the reservation had ended already. */
  repeated: number
}

/** A real memory budget whose reservations are counted (settle and release pass through). */
export function countedBudget(): { budget: Budget; ledger: ReservationLedger } {
  const real = createBudget({ limits: [{ period: 'day', usd: 100 }] })
  const ledger: ReservationLedger = { made: 0, settled: 0, released: 0, repeated: 0 }
  const counted = (r: Reservation): Reservation => {
    let ended = false
    const end = (): void => {
      if (ended) ledger.repeated++
      ended = true
    }
    return new Proxy(r, {
      get(target, prop) {
        if (prop === 'settle') {
          return async (...args: Parameters<Reservation['settle']>) => {
            const outcome = await target.settle(...args)
            end()
            if (!outcome.duplicate) ledger.settled++
            return outcome
          }
        }
        if (prop === 'release') {
          return async () => {
            const freed = await target.release()
            end()
            if (freed) ledger.released++
            return freed
          }
        }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  }
  // The budget object is frozen: a new object in front of it, with a counting `reserve`.
  const budget = Object.create(real) as Budget
  Object.defineProperty(budget, 'reserve', {
    value: async (...args: Parameters<Budget['reserve']>) => {
      const r = await real.reserve(...args)
      ledger.made++
      return counted(r)
    },
  })
  return { budget, ledger }
}
