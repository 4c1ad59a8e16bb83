/**
 * @module options
 * Shared option checks of the queue and the worker.
 */
import { InvalidOptionsError } from '@aikit/core'
import { assertRedisClient } from '@aikit/core/redis'

/** Default queue name. */
export const DEFAULT_NAME = 'llm'
/** Default key prefix (BullMQ's keys and the queue's own). */
export const DEFAULT_PREFIX = 'aikit'

/**
 * Checks an ioredis connection (anything with the commands the queue uses): a single-node or
 * Sentinel `Redis`. A Cluster is refused: BullMQ's scripts touch keys of several slots there
 * (every enqueue would fail with CROSSSLOT). A Sentinel client needs `failoverDetector: true`, as
 * `redisStore` requires (its check, reused): without it the client keeps writing to the old master
 * after a failover, and an acknowledged enqueue, result or event is lost when that one resyncs.
 */
export function checkConnection(value: unknown): void {
  const c = value as Record<string, unknown> | null
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.duplicate !== 'function' ||
    typeof c.multi !== 'function'
  ) {
    throw new InvalidOptionsError('connection', 'must be an ioredis Redis client')
  }
  if (c.isCluster === true) {
    throw new InvalidOptionsError(
      'connection',
      'must be a single-node or Sentinel ioredis Redis client: a Cluster is not supported (BullMQ needs a {hash tag} prefix there)'
    )
  }
  // BullMQ refuses it with a plain Error; its keys and the queue's own would not agree either.
  const keyPrefix = (c.options as { keyPrefix?: unknown } | undefined)?.keyPrefix
  if (keyPrefix !== undefined && keyPrefix !== '') {
    throw new InvalidOptionsError(
      'connection',
      'must not have an ioredis `keyPrefix` (BullMQ does not support it): use the `prefix` option instead'
    )
  }
  try {
    assertRedisClient(value)
  } catch (error) {
    // The same refusal, naming this option (core's names `redisStore`'s `client`).
    if (error instanceof InvalidOptionsError) {
      throw new InvalidOptionsError(
        'connection',
        error.message.replace(/^Invalid option `client`: /, '')
      )
    }
    throw error
  }
}

/** A non-empty name made of safe characters (it is part of Redis keys). */
export function checkName(value: unknown, field: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new InvalidOptionsError(field, 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
  }
  return value
}

/** An integer in [min, max], or the fallback. */
export function checkInt(
  value: unknown,
  field: string,
  fallback: number,
  min: number,
  max: number
): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new InvalidOptionsError(field, `must be an integer from ${min} to ${max}`)
  }
  return value as number
}

/**
 * A caller's `signal` option: a real AbortSignal (an object that only looks like one would be
 * listened to and then never abort the wait).
 */
export function checkSignal(signal: unknown, field = 'signal'): AbortSignal {
  if (!(signal instanceof AbortSignal))
    throw new InvalidOptionsError(field, 'must be an AbortSignal')
  return signal
}
