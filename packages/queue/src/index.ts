/**
 * @module @aikit/queue
 * Queued LLM jobs on BullMQ: retries that honour `retry-after` (request errors are not retried),
 * identical pending jobs deduplicated by their cache key, the budget held from enqueue to
 * completion, tokens followed over Redis pub/sub from any instance (SSE), results kept with a TTL.
 * Node-only (BullMQ).
 */
export type { LlmJobKeyFn } from './cache-key.js'
export type { LlmClients } from './call.js'
export type { Duration } from './duration.js'
export {
  JobFailedError,
  JobNotFoundError,
  type LlmJobError,
  QueueClosedError,
} from './errors.js'
export type { FollowOptions } from './follow.js'
export {
  createLlmQueue,
  type EnqueueResult,
  type LlmJobInput,
  type LlmQueue,
  type LlmQueueOptions,
  type ResultOptions,
} from './queue.js'
export type { RedisConnection } from './redis-types.js'
export { formatSse, type SseHandlerOptions, sseHandler } from './sse.js'
export type {
  AnthropicLike,
  LlmApi,
  LlmCacheMode,
  LlmJobEvent,
  LlmJobResult,
  LlmProvider,
  OpenAILike,
} from './types.js'
export { createLlmWorker, type LlmWorker, type LlmWorkerOptions } from './worker.js'
