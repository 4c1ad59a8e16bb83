/**
 * @module redis/timeout
 * Bounds a promise with a timer that is always cleared.
 */
import { StoreTimeoutError } from '../store/errors.js'

/**
 * Resolves or rejects like `promise`, or rejects with `StoreTimeoutError` after `ms` (not finite =
 * no timeout). A later rejection of the abandoned promise is swallowed.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what?: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      promise.catch(() => {})
      reject(new StoreTimeoutError(ms, what))
    }, ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
