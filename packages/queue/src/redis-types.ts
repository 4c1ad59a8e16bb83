/**
 * @module redis-types
 * The ioredis client the queue takes (ioredis 5 or 6), imported as a type only. A single node (or
 * Sentinel) `Redis`: BullMQ on a Cluster needs a `{hash tag}` prefix, not supported here yet.
 */
import type { Redis } from 'ioredis'

/** An ioredis `Redis` connection. */
export type RedisConnection = Redis
