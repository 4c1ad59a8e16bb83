/**
 * @module events
 * A tiny edge-safe listener set (no `node:events`). A listener that throws never breaks the caller.
 * `on` validates its arguments: an unknown event name (a typo such as `'settle'` would never fire)
 * or a listener that is not a function throws `InvalidOptionsError` naming `event` / `listener`.
 */
import { InvalidOptionsError } from '@aikit/core'

/** Typed listener registry: `on` returns an unsubscribe function. */
export interface Emitter<M> {
  /** @throws InvalidOptionsError (`event`, `listener`) for an unknown event or a non-function. */
  on<E extends keyof M>(event: E, listener: (info: M[E]) => void): () => void
  emit<E extends keyof M>(event: E, info: M[E]): void
  /** Whether `event` has a listener (a hot caller then builds its event object only when needed). */
  has(event: keyof M): boolean
}

/** Creates an emitter for the event map `M`, whose event names are `names`. */
export function createEmitter<M>(names: readonly (keyof M & string)[]): Emitter<M> {
  const map = new Map<keyof M, Set<(info: never) => void>>()
  const known = new Set<unknown>(names)
  return {
    on(event, listener) {
      if (!known.has(event)) {
        const list = names.map((n) => `'${n}'`).join(', ')
        throw new InvalidOptionsError('event', `must be one of ${list}`)
      }
      if (typeof listener !== 'function') {
        throw new InvalidOptionsError('listener', 'must be a function')
      }
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
