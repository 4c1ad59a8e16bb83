/**
 * @module redis/timeout
 * Bounds a promise with a timer that is always cleared.
 */
import { StoreTimeoutError } from '../store/errors.js'

/**
 * Resolves or rejects like `promise`, or rejects with `StoreTimeoutError` after `ms` (not finite =
 * no timeout). A later rejection of the abandoned promise is swallowed. One promise and one timer
 * per call (no `Promise.race`), since this wraps every Redis command on the hot path.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what?: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError(ms, what)), ms)
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
