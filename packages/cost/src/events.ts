/**
 * @module events
 * A tiny edge-safe listener set (no `node:events`). A listener that throws never breaks the caller.
 */

/** Typed listener registry: `on` returns an unsubscribe function. */
export interface Emitter<M> {
  on<E extends keyof M>(event: E, listener: (info: M[E]) => void): () => void
  emit<E extends keyof M>(event: E, info: M[E]): void
  /** Whether `event` has a listener (a hot caller then builds its event object only when needed). */
  has(event: keyof M): boolean
}

/** Creates an emitter for the event map `M`. */
export function createEmitter<M>(): Emitter<M> {
  const map = new Map<keyof M, Set<(info: never) => void>>()
  return {
    on(event, listener) {
      let set = map.get(event)
      if (!set) {
        set = new Set()
        map.set(event, set)
      }
      set.add(listener as (info: never) => void)
      return () => {
        map.get(event)?.delete(listener as (info: never) => void)
      }
    },
    has(event) {
      const set = map.get(event)
      return set !== undefined && set.size > 0
    },
    emit(event, info) {
      const set = map.get(event)
      if (!set) return
      for (const listener of [...set]) {
        try {
          ;(listener as (i: typeof info) => void)(info)
        } catch {
          // Events feed metrics and logs; they must never break a cost or budget call.
        }
      }
    },
  }
}
