/**
 * @module meter-stream
 * `meterStream`: pass a provider stream through to the caller while recording its usage, and report
 * the result exactly once when the stream ends for any reason: finished, failed, or abandoned by the
 * caller (`break`, client gone). The report then carries the estimate for a stream cut short.
 */
import { InvalidOptionsError } from '@aikit/core'
import type { UsageApi } from './extract.js'
import { filterOpenAIChunk } from './openai-stream.js'
import {
  checkStreamUsageArgs,
  createStreamUsage,
  STREAM_USAGE_OPTION_KEYS,
  type StreamUsage,
  type StreamUsageOptions,
  type StreamUsageResult,
} from './stream-usage.js'

/** Options of `meterStream`. */
export interface MeterStreamOptions extends StreamUsageOptions {
  /** Which stream shape. Required. */
  api: UsageApi
  /** Hide the injected OpenAI usage chunk (from `prepareOpenAIStreamParams`). Default `false`. */
  hideUsageChunk?: boolean
  /** Called once with the usage when the stream ends (errors thrown by it are ignored). */
  onDone: (result: StreamUsageResult) => void
}

/** The keys of `MeterStreamOptions`: any other key is refused. */
const METER_STREAM_OPTION_KEYS = [
  ...STREAM_USAGE_OPTION_KEYS,
  'api',
  'hideUsageChunk',
  'onDone',
] as const satisfies readonly (keyof MeterStreamOptions)[]

/**
 * Yields every event of `stream` (minus a hidden usage chunk) and records its usage. The options
 * are checked at the call, not at the first read: `InvalidOptionsError` naming the field (a missing
 * `onDone` would lose the usage report without a word).
 */
export function meterStream<T>(
  stream: AsyncIterable<T>,
  options: MeterStreamOptions
): AsyncGenerator<T, void, undefined> {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object { api, onDone, … }')
  }
  checkStreamUsageArgs(options.api, options, METER_STREAM_OPTION_KEYS)
  if (typeof options.onDone !== 'function') {
    throw new InvalidOptionsError('onDone', 'must be a function (result) => void')
  }
  if (options.hideUsageChunk !== undefined && typeof options.hideUsageChunk !== 'boolean') {
    throw new InvalidOptionsError('hideUsageChunk', 'must be a boolean')
  }
  const s = stream as unknown as Record<symbol, unknown> | null
  if (
    s === null ||
    typeof s !== 'object' ||
    (typeof s[Symbol.asyncIterator] !== 'function' && typeof s[Symbol.iterator] !== 'function')
  ) {
    throw new InvalidOptionsError('stream', 'must be an async iterable (the provider stream)')
  }
  const usage = createStreamUsage(options.api, {
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.inputTokens === undefined ? {} : { inputTokens: options.inputTokens }),
  })
  const onDone = options.onDone
  let reported = false
  const report = (): void => {
    if (reported) return
    reported = true
    try {
      onDone(usage.result())
    } catch {
      // The report must not replace the stream's own outcome.
    }
  }
  return startedOrNot(
    metered(stream, usage, options.hideUsageChunk === true, report),
    stream,
    report
  )
}

async function* metered<T>(
  stream: AsyncIterable<T>,
  usage: StreamUsage,
  hide: boolean,
  report: () => void
): AsyncGenerator<T, void, undefined> {
  try {
    for await (const event of stream) {
      usage.push(event)
      const out = filterOpenAIChunk(event, hide)
      if (out !== undefined) yield out
    }
  } finally {
    report()
  }
}

/**
 * `gen` with `return()` / `throw()` that report even before the first `next()`. An async
 * generator closed before it started never runs its body, so its `finally` (the report) never
 * runs, although the provider stream was opened (the request is sent and billed): a client gone
 * before the first chunk, or cleanup code calling `return()`. Then this reports (the input
 * estimate) and closes `source`'s iterator; once started, `gen` itself does both.
 */
function startedOrNot<T>(
  gen: AsyncGenerator<T, void, undefined>,
  source: AsyncIterable<T>,
  report: () => void
): AsyncGenerator<T, void, undefined> {
  let started = false
  const closeUnstarted = async (): Promise<void> => {
    // Marks `gen` finished (its body never runs), so a later `next()` is done at once.
    await gen.return(undefined)
    report()
    try {
      const s = source as unknown as Record<
        symbol,
        (() => Iterator<T> | AsyncIterator<T>) | undefined
      >
      const it = (s[Symbol.asyncIterator] ?? s[Symbol.iterator])?.call(source)
      await it?.return?.()
    } catch {
      // Closing is cleanup: the caller's return() / throw() keeps its own outcome.
    }
  }
  // Inherits from the generator's prototype, as the generator itself did: `Symbol.asyncIterator`
  // (itself), `Symbol.asyncDispose` where the runtime has one (it calls `return()`), the tag.
  const methods: Pick<AsyncGenerator<T, void, undefined>, 'next' | 'return' | 'throw'> = {
    next(...args) {
      started = true
      return gen.next(...args)
    },
    async return(value) {
      if (started) return gen.return(value)
      started = true
      await closeUnstarted()
      return { done: true, value: undefined }
    },
    async throw(error) {
      if (started) return gen.throw(error)
      started = true
      await closeUnstarted()
      throw error
    },
  }
  return Object.assign(
    Object.create(Object.getPrototypeOf(gen) as object) as AsyncGenerator<T, void, undefined>,
    methods
  )
}
