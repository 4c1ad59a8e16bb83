/**
 * @module llm/llm-cache
 * `createLlmCache`: caches LLM answers (JSON and streamed) in a `Cache`, keyed by `llmCacheKey`.
 * Only deterministic requests are cached by default; only complete answers are stored; identical
 * requests in flight at the same time share one provider call, streams included.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { duration } from '../options.js'
import type { Cache } from '../types.js'
import { isCompleteAnswer, isCompleteOpenAiChat } from './completeness.js'
import { isDeterministicRequest, llmCacheKey } from './key.js'
import { recordStream, replayStream, SharedStream, type StreamProtocol } from './stream.js'
import { type TokenUsage, usageOfAnswer, usageOfStream } from './usage.js'

/** Options of `createLlmCache`. */
export interface LlmCacheOptions {
  /** Provider name, part of every key (`'anthropic'`, `'openai'`...). Default `''`. */
  provider?: string
  /** Fresh lifetime of an answer in ms. Default: the cache's `ttl`. */
  ttl?: number
  /**
   * Also cache sampled requests (temperature ≠ 0 and no seed), pinning one sample per key.
   * Default `false`: they bypass the cache.
   */
  cacheSampling?: boolean
  /**
   * How to tell a complete, successful stream (only those are stored; see `StreamProtocol`).
   * Default `'anthropic'`.
   */
  protocol?: StreamProtocol
  /**
   * How to tell a complete, successful JSON answer of `complete()`: an incomplete one is returned
   * to its callers but never stored. Default: by the answer's shape, an Anthropic message with a
   * `stop_reason` of end_turn / max_tokens / stop_sequence / tool_use; an OpenAI chat completion
   * whose every choice finished with stop / length / tool_calls / function_call; an OpenAI Responses
   * object `completed` (or `incomplete` for `max_output_tokens`); never one with a non-null
   * `error`; any other shape counts as complete.
   */
  isCompleteAnswer?: (answer: unknown) => boolean
  /** Pacing of replayed streams, ms between events (at most 2^31 - 1, the longest timer). Default `0`. */
  replayDelayMs?: number
}

/** The keys of `LlmCacheOptions`: any other key is refused. */
const LLM_CACHE_OPTION_KEYS = [
  'provider',
  'ttl',
  'cacheSampling',
  'protocol',
  'isCompleteAnswer',
  'replayDelayMs',
] as const satisfies readonly (keyof LlmCacheOptions)[]

/** Per-call options. */
export interface LlmCallOptions {
  /** Who may share the answer (tenant/user id), or `'global'`. Required (see `llmCacheKey`). */
  scope: string | undefined
  /** Skip the read and fetch a new answer (still stored). Default `false`. */
  refresh?: boolean
  /** Do not store the answer. Default `false`. */
  noStore?: boolean
}

const LLM_CALL_OPTION_KEYS = [
  'scope',
  'refresh',
  'noStore',
] as const satisfies readonly (keyof LlmCallOptions)[]

/** How a call was served. */
export type LlmCacheStatus = 'HIT' | 'MISS' | 'COALESCED' | 'BYPASS'

/** Counters of one LLM cache. */
export interface LlmCacheStats {
  hits: number
  misses: number
  coalesced: number
  bypassed: number
  streamReplays: number
  /** Input tokens not sent to the provider thanks to hits (from the cached answers' usage). */
  inputTokensSaved: number
  /** Output tokens not paid for thanks to hits. */
  outputTokensSaved: number
}

/** An LLM response cache. */
export interface LlmCache {
  /**
   * A JSON (non-streamed) answer: from the cache, or `call()` once for all identical requests in
   * flight. Stored only when complete (see the `isCompleteAnswer` option): a refusal or a content
   * filter cut reaches the callers of this call and is asked again next time.
   */
  complete<R>(
    params: Record<string, unknown>,
    options: LlmCallOptions,
    call: () => Promise<R>
  ): Promise<{ value: R; status: LlmCacheStatus }>
  /**
   * A streamed answer: a replay of the recorded events on a hit; otherwise `call(signal)` once for
   * all identical requests in flight (late joiners get the events so far, then live ones). Pass
   * `signal` to the SDK: it aborts when every consumer has stopped early. Stored only when complete.
   */
  stream<E>(
    params: Record<string, unknown>,
    options: LlmCallOptions,
    call: (signal: AbortSignal) => AsyncIterable<E> | Promise<AsyncIterable<E>>
  ): Promise<{ stream: AsyncIterable<E>; status: LlmCacheStatus }>
  stats(): LlmCacheStats
}

/** Thrown through `getOrSet` so an incomplete JSON answer reaches its callers unstored. */
class IncompleteAnswer {
  constructor(readonly value: unknown) {}
}

interface StoredStream {
  readonly v: 1
  readonly events: unknown[]
}

/**
 * Creates an LLM response cache on top of `cache` (use a namespace, e.g. `cache.namespace('llm')`).
 * @throws InvalidOptionsError naming a bad or unknown option (`cacheSampling`, `protcol`…).
 */
export function createLlmCache(cache: Cache, options: LlmCacheOptions = {}): LlmCache {
  if (cache === null || typeof cache?.getOrSet !== 'function') {
    throw new InvalidOptionsError('cache', 'must be a cache from createCache()')
  }
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionsError('options', 'must be an object')
  rejectUnknownOptions(options, LLM_CACHE_OPTION_KEYS)
  const provider = options.provider ?? ''
  if (typeof provider !== 'string') throw new InvalidOptionsError('provider', 'must be a string')
  const ttl =
    options.ttl === undefined ? undefined : duration('ttl', options.ttl, 0, { positive: true })
  const cacheSampling = options.cacheSampling ?? false
  if (typeof cacheSampling !== 'boolean')
    throw new InvalidOptionsError('cacheSampling', 'must be a boolean')
  const protocol = options.protocol ?? 'anthropic'
  if (typeof protocol !== 'function' && protocol !== 'anthropic' && protocol !== 'openai-chat') {
    throw new InvalidOptionsError('protocol', "must be 'anthropic', 'openai-chat' or a function")
  }
  const isComplete = options.isCompleteAnswer ?? isCompleteAnswer
  if (typeof isComplete !== 'function')
    throw new InvalidOptionsError('isCompleteAnswer', 'must be a function')
  const replayDelayMs = duration('replayDelayMs', options.replayDelayMs, 0, { timer: true })
  const inflightStreams = new Map<string, SharedStream<unknown>>()
  const inflightJson = new Set<string>()
  const counters: LlmCacheStats = {
    hits: 0,
    misses: 0,
    coalesced: 0,
    bypassed: 0,
    streamReplays: 0,
    inputTokensSaved: 0,
    outputTokensSaved: 0,
  }
  const saved = (usage: TokenUsage): void => {
    counters.inputTokensSaved += usage.input
    counters.outputTokensSaved += usage.output
  }
  const ttlOption = ttl === undefined ? {} : { ttl }

  const keyOf = (
    params: Record<string, unknown>,
    call: LlmCallOptions,
    fn: unknown,
    suffix: string
  ): string | undefined => {
    if (call === null || typeof call !== 'object')
      throw new InvalidOptionsError('options', 'must be an object with a scope')
    rejectUnknownOptions(call, LLM_CALL_OPTION_KEYS)
    if (typeof fn !== 'function') throw new InvalidOptionsError('call', 'must be a function')
    const key = llmCacheKey(params, { scope: call.scope, provider })
    if (!cacheSampling && !isDeterministicRequest(params)) return undefined
    return key + suffix
  }

  return {
    async complete(params, call, fn) {
      const key = keyOf(params, call, fn, ':json')
      if (key === undefined) {
        counters.bypassed++
        return { value: await fn(), status: 'BYPASS' }
      }
      /**
       * The answer this call's fetcher got. Not "the fetcher ran": with stale-while-revalidate the
       * cache may start it for a background refresh and answer the stale value meanwhile (a HIT).
       */
      let produced: { value: unknown } | undefined
      /** This call's own answer when it was incomplete (a stale-if-error value may stand in). */
      let own: { value: unknown } | undefined
      const joined = inflightJson.has(key)
      if (!joined) inflightJson.add(key)
      try {
        let value: Awaited<ReturnType<typeof fn>>
        let shared = false
        try {
          value = await cache.getOrSet(
            key,
            async () => {
              const answer = await fn()
              if (call.noStore !== true && !isComplete(answer)) {
                own = { value: answer }
                throw new IncompleteAnswer(answer)
              }
              produced = { value: answer }
              return answer
            },
            { ...ttlOption, refresh: call.refresh === true, noStore: call.noStore === true }
          )
        } catch (error) {
          if (!(error instanceof IncompleteAnswer)) throw error
          // An incomplete answer (this call's, or the one it joined in flight): returned, not stored.
          value = error.value as typeof value
          shared = true
        }
        if (own !== undefined) value = own.value as typeof value
        const fetched = own !== undefined || (produced !== undefined && produced.value === value)
        const status: LlmCacheStatus = fetched ? 'MISS' : joined || shared ? 'COALESCED' : 'HIT'
        if (status === 'MISS') counters.misses++
        else {
          if (status === 'HIT') counters.hits++
          else counters.coalesced++
          saved(usageOfAnswer(value))
        }
        return { value, status }
      } finally {
        if (!joined) inflightJson.delete(key)
      }
    },

    async stream(params, call, fn) {
      const key = keyOf(params, call, fn, ':stream')
      if (key === undefined) {
        counters.bypassed++
        return { stream: await fn(new AbortController().signal), status: 'BYPASS' }
      }
      const join = (): { stream: AsyncIterable<never>; status: LlmCacheStatus } | undefined => {
        const shared = inflightStreams.get(key)
        if (shared === undefined || shared.abandoned) return undefined
        counters.coalesced++
        return { stream: shared.subscribe() as AsyncIterable<never>, status: 'COALESCED' }
      }
      const early = join()
      if (early !== undefined) return early
      if (call.refresh !== true) {
        const stored = await cache.get<StoredStream>(key)
        if (stored !== undefined && stored.v === 1 && Array.isArray(stored.events)) {
          counters.hits++
          counters.streamReplays++
          saved(usageOfStream(stored.events))
          return {
            stream: replayStream(stored.events, { delayMs: replayDelayMs }) as AsyncIterable<never>,
            status: 'HIT',
          }
        }
      }
      const late = join()
      if (late !== undefined) return late
      counters.misses++
      const controller = new AbortController()
      // Registered before the first await so every identical request arriving now joins it.
      const upstream: AsyncIterable<unknown> = {
        async *[Symbol.asyncIterator]() {
          yield* await fn(controller.signal)
        },
      }
      // OpenAI with `n` choices: all `n` must finish (a choice cut before its first chunk included).
      const n = params.n
      const recorded = recordStream(upstream, {
        protocol:
          protocol === 'openai-chat' && typeof n === 'number' && Number.isInteger(n) && n > 1
            ? (events) => isCompleteOpenAiChat(events, n)
            : protocol,
        signal: controller.signal,
        onComplete: async (events) => {
          if (call.noStore === true) return
          const value: StoredStream = { v: 1, events }
          try {
            await cache.set(key, value, ttlOption)
          } catch {
            // Storing is best effort: the consumers already have the whole answer.
          }
        },
      })
      const shared: SharedStream<unknown> = new SharedStream(recorded, () => {
        // Abandoned: no later request may join it (it would get a truncated answer).
        if (inflightStreams.get(key) === shared) inflightStreams.delete(key)
        controller.abort()
      })
      inflightStreams.set(key, shared)
      // `finished` never rejects (the pump catches), so `void` loses nothing.
      void shared.finished.then(() => {
        if (inflightStreams.get(key) === shared) inflightStreams.delete(key)
      })
      return { stream: shared.subscribe() as AsyncIterable<never>, status: 'MISS' }
    },

    stats() {
      return { ...counters }
    },
  }
}
