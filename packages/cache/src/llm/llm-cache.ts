/**
 * @module llm/llm-cache
 * `createLlmCache`: caches LLM answers (JSON and streamed) in a `Cache`, keyed by `llmCacheKey`.
 * Only deterministic requests are cached by default; only complete answers are stored; identical
 * requests in flight at the same time share one provider call, streams included.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import { CACHE_INTERNALS, type CacheInternals } from '../cache.js'
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
  /**
   * Fresh lifetime of an answer in ms, declared to the cache: every instance keeps a `clear()` in
   * the store as long as such answers live. Default: the cache's `ttl`.
   */
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
   * `signal` to the SDK: it aborts when every consumer has stopped early. Stored only when complete,
   * as a fill stamped before `call` is made: a change (a `clear()`) made while it runs leaves it out
   * of date.
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

/** A `complete()` call in flight, shared with the identical calls that join it. */
interface JsonFlight {
  /**
   * Its answer when incomplete: the joiners get it too, even where the cache answers them with a
   * stale-if-error value instead of the refusal (the fetcher failed, as far as the cache knows).
   */
  refused?: { value: unknown }
}

/** Thrown by a stream's fill when the stream did not complete: nothing is stored. */
const NOT_STORED = Symbol('not stored')

/** The fill of one streamed answer (see `fillStream`). */
interface StreamFill {
  readonly started: Promise<void>
  readonly end: (events: unknown[] | undefined) => Promise<void>
}

/**
 * How long a stream waits for its fill to be stamped before asking the provider anyway: one store
 * round trip takes far less; longer means another instance is filling the same answer.
 */
const STREAM_FILL_START_WAIT_MS = 50

/**
 * The fill of a streamed answer: no timeouts (it waits for the stream, however long), and a
 * refresh (the call already read the cache and missed, and the new answer replaces what is there).
 */
const STREAM_FILL_TIMEOUTS = {
  soft: Number.POSITIVE_INFINITY,
  hard: Number.POSITIVE_INFINITY,
} as const

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
  const inflightJson = new Map<string, JsonFlight>()
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
  // Tag invalidations (a `clear()`) must be kept in the store as long as the answers written here
  // live, by every instance, including one that clears without having written any (as
  // `cacheResponse` declares its `ttl`).
  if (ttl !== undefined) {
    ;(cache as { [CACHE_INTERNALS]?: () => CacheInternals })[CACHE_INTERNALS]?.().declareTtl(ttl)
  }
  const streamFillOptions = { ...ttlOption, refresh: true, timeouts: STREAM_FILL_TIMEOUTS }

  /**
   * Starts the fill of a streamed answer, with `getOrSet`, so its entry is stamped before the
   * provider is asked, as any fill is before its fetch: a `clear()`, a tag invalidation or a
   * `delete` made while the stream runs makes it out of date. `started` resolves once the fill is
   * stamped (at once without a store, one store round trip with one), or after
   * `STREAM_FILL_START_WAIT_MS` if it is waiting on another instance's fill of the same answer (a
   * change made in that time may then be missed). `end` takes the recorded events once the stream
   * ended (`undefined` when it did not complete); its promise settles once the answer is stored,
   * or at once if the fill had not started, so the stream's end is held up by the write at most.
   */
  const fillStream = (key: string): StreamFill => {
    let settle!: (events: unknown[] | undefined) => void
    const answer = new Promise<unknown[] | undefined>((resolve) => {
      settle = resolve
    })
    let ran = false
    let start!: () => void
    const started = new Promise<void>((resolve) => {
      start = resolve
    })
    const fill = (retry: boolean): Promise<void> =>
      cache
        .getOrSet(
          key,
          async () => {
            ran = true
            start()
            const events = await answer
            if (events === undefined) throw NOT_STORED
            return { v: 1, events } satisfies StoredStream
          },
          streamFillOptions
        )
        .then(
          () => undefined,
          () => undefined
        )
        .then(() => {
          // Its fetcher never ran: it joined a fill of the key already running in this process (a
          // stream abandoned just before this one started), which says nothing of this answer.
          if (!ran && retry) return fill(false)
        })
    const filled = fill(true).finally(start)
    if (!ran) {
      const timer = setTimeout(start, STREAM_FILL_START_WAIT_MS)
      void started.then(() => clearTimeout(timer))
    }
    return {
      started,
      end: async (events) => {
        settle(events)
        if (ran) await filled
      },
    }
  }

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
      let flight = inflightJson.get(key)
      const joined = flight !== undefined
      if (flight === undefined) {
        flight = {}
        inflightJson.set(key, flight)
      }
      const joinedFlight = flight
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
                // For the calls that joined this one: the cache answers them as if it failed.
                if (!joined) joinedFlight.refused = own
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
        else if (
          joined &&
          joinedFlight.refused !== undefined &&
          (produced === undefined || produced.value !== value)
        ) {
          // The call joined was refused: the cache may have answered this one with a stale value.
          value = joinedFlight.refused.value as typeof value
          shared = true
        }
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
        if (!joined && inflightJson.get(key) === joinedFlight) inflightJson.delete(key)
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
      const fill = call.noStore === true ? undefined : fillStream(key)
      // Registered before the first await so every identical request arriving now joins it.
      const upstream: AsyncIterable<unknown> = {
        async *[Symbol.asyncIterator]() {
          if (fill !== undefined) {
            await fill.started
            // Every consumer left meanwhile: no provider call.
            if (controller.signal.aborted) return
          }
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
        // Storing is best effort (`fillStream` catches): the consumers already have the answer.
        onComplete: (events) => fill?.end(events),
      })
      const shared: SharedStream<unknown> = new SharedStream(recorded, () => {
        // Abandoned: no later request may join it (it would get a truncated answer).
        if (inflightStreams.get(key) === shared) inflightStreams.delete(key)
        controller.abort()
        // Ends its fill now: an identical request made next must not join it.
        void fill?.end(undefined)
      })
      inflightStreams.set(key, shared)
      // `finished` never rejects (the pump catches), so `void` loses nothing.
      void shared.finished.then(() => {
        if (inflightStreams.get(key) === shared) inflightStreams.delete(key)
        // Not complete (or already stored: then this is a no-op).
        void fill?.end(undefined)
      })
      return { stream: shared.subscribe() as AsyncIterable<never>, status: 'MISS' }
    },

    stats() {
      return { ...counters }
    },
  }
}
