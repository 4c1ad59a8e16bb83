/**
 * @module meter-stream
 * `meterStream`: pass a provider stream through to the caller while recording its usage, and report
 * the result exactly once when the stream ends for any reason: finished, failed, or abandoned by the
 * caller (`break`, client gone). The report then carries the estimate for a stream cut short.
 */
import type { UsageApi } from './extract.js'
import { filterOpenAIChunk } from './openai-stream.js'
import {
  createStreamUsage,
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

/** Yields every event of `stream` (minus a hidden usage chunk) and records its usage. */
export async function* meterStream<T>(
  stream: AsyncIterable<T>,
  options: MeterStreamOptions
): AsyncGenerator<T, void, undefined> {
  const usage = createStreamUsage(options.api, options)
  const hide = options.hideUsageChunk === true
  try {
    for await (const event of stream) {
      usage.push(event)
      const out = filterOpenAIChunk(event, hide)
      if (out !== undefined) yield out
    }
  } finally {
    try {
      options.onDone(usage.result())
    } catch {
      // The report must not replace the stream's own outcome.
    }
  }
}
