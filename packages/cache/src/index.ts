/**
 * @module @aikit/cache
 * A multi-tier cache (memory + shared store + invalidation bus) with stampede protection across
 * instances, and a safe LLM response cache that records and replays streams. Edge-safe.
 */
export type { BusMessage, BusOption, BusPublisher, BusSubscriber } from './bus.js'
export { createCache } from './cache.js'
export { CacheScopeRequiredError, CacheSerializeError, CacheTimeoutError } from './errors.js'
export {
  isDeterministicRequest,
  LLM_KEY_VERSION,
  LLM_TRANSPORT_FIELDS,
  type LlmCacheKeyOptions,
  llmCacheKey,
} from './llm/key.js'
export {
  createLlmCache,
  type LlmCache,
  type LlmCacheOptions,
  type LlmCacheStats,
  type LlmCacheStatus,
  type LlmCallOptions,
} from './llm/llm-cache.js'
export { stableStringify } from './llm/stable-stringify.js'
export {
  isCompleteStream,
  type RecordStreamOptions,
  type ReplayStreamOptions,
  recordStream,
  replayStream,
  SharedStream,
  type StreamProtocol,
} from './llm/stream.js'
export { type CacheResponseOptions, cacheResponse } from './middleware.js'
export type { CacheOptions, CacheTimeouts, Serializer } from './options.js'
export type {
  Cache,
  CacheErrorInfo,
  CacheEvent,
  CacheSetOptions,
  CacheStats,
  FetchContext,
  GetOrSetOptions,
} from './types.js'
