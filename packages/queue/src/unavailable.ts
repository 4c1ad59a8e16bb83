/**
 * @module unavailable
 * A queue call that fails because Redis cannot serve it (unreachable, ioredis gave up on the
 * command, LOADING / BUSY / READONLY…) rejects with `@aikit/core`'s `StoreUnavailableError`, as
 * the kit's stores do: 503 with `Retry-After`, the client reading only "Service temporarily
 * unavailable", ioredis's error kept as the `cause`. A reply saying the call was wrong, and the
 * kit's own errors (`QueueClosedError`, `JobNotFoundError`…), pass through.
 */
import { isAikitError, StoreUnavailableError } from '@aikit/core'
import { isAvailabilityError } from '@aikit/core/redis'

/** `error` of a Redis call, as the 503 the HTTP handlers answer when Redis cannot serve it. */
export function unavailable(error: unknown, what: string): unknown {
  if (isAikitError(error) || !isAvailabilityError(error)) return error
  const message = error instanceof Error ? error.message : String(error)
  return new StoreUnavailableError(`redis ${what} failed: ${message}`, {
    reason: 'connection',
    cause: error,
  })
}

/** Runs `call` (Redis commands only), its failures mapped by `unavailable`. */
export async function viaRedis<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw unavailable(error, what)
  }
}

/** The iteration of `events` (reads of Redis only), its failures mapped by `unavailable`. */
export async function* iterateViaRedis<T>(
  what: string,
  events: AsyncIterable<T>
): AsyncGenerator<T, void, undefined> {
  try {
    yield* events
  } catch (error) {
    throw unavailable(error, what)
  }
}
