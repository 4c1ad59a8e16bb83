/**
 * @module redis/timeout
 * Bounds a promise with a timer that is always cleared.
 */
import { StoreTimeoutError } from '../store/errors.js'

/** Runs `fn` after the I/O of the current event-loop turn (see `withTimeout`). */
export const afterIo: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0)

/**
 * Resolves or rejects like `promise`, or rejects with `StoreTimeoutError` after `ms` (not finite =
 * no timeout). A later rejection of the abandoned promise is swallowed. One promise and one timer
 * per call (no `Promise.race`), since this wraps every Redis command on the hot path.
 *
 * The rejection waits one turn of the event loop after the timer (`setImmediate`): timers run
 * before I/O in each turn, so when the process was busy (a burst of requests, a long synchronous
 * task) past `ms`, a reply already waiting in the socket is read and wins. Only a reply that has
 * not arrived times out: the app's own delays are not counted as Redis being slow.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what?: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => afterIo(() => reject(new StoreTimeoutError(ms, what))), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      }
    )
  })
}
