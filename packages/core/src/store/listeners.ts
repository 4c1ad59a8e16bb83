/**
 * @module store/listeners
 * A tiny edge-safe event listener set (no `node:events`).
 */

/** Minimal typed listener registry: `on` returns an unsubscribe function. */
export interface Listeners<E extends string, T> {
  on(event: E, listener: (info: T) => void): () => void
  emit(event: E, info: T): void
  clear(): void
}

/**
 * Creates a listener set. A listener that throws does not affect the store call that emitted the
 * event nor the other listeners (the error is swallowed: events are for metrics and logs).
 */
export function createListeners<E extends string, T>(): Listeners<E, T> {
  const map = new Map<E, Set<(info: T) => void>>()
  return {
    on(event, listener) {
      let set = map.get(event)
      if (!set) {
        set = new Set()
        map.set(event, set)
      }
      set.add(listener)
      return () => {
        map.get(event)?.delete(listener)
      }
    },
    emit(event, info) {
      const set = map.get(event)
      if (!set) return
      for (const listener of [...set]) {
        try {
          listener(info)
        } catch {
          // Listener errors must never break a store call.
        }
      }
    },
    clear() {
      map.clear()
    },
  }
}
