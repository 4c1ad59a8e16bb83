/**
 * @module spec
 * What the engine needs to know about one provider API (Anthropic Messages, OpenAI Chat
 * Completions, OpenAI Responses): how to estimate, guard, meter, record and replay it.
 */
import type { MessageLike, ServiceTier, UsageApi } from '@aikit/cost'
import type { SdkBaseErrorClass } from './shared-stream.js'
import type { GuardInputVerdict, GuardMessage } from './types.js'

/** Plain object params. */
export type Params = Record<string, unknown>

/** The SDK's `Stream` class shape (both SDKs: `new Stream(iteratorFn, controller, client?)`). */
export type StreamClass = new (
  iterator: () => AsyncIterator<unknown>,
  controller: AbortController,
  client?: never
) => AsyncIterable<unknown> & { controller: AbortController }

/** An SDK error class built with no arguments (`APIUserAbortError`, `APIConnectionTimeoutError`). */
export type SdkErrorClass = new () => Error

/** The budget and token estimate of a request (a `BudgetEstimate` of `@aikit/cost`). */
export interface RequestEstimate {
  model: string
  messages: readonly MessageLike[]
  system?: unknown
  tools?: readonly unknown[]
  maxOutputTokens: number
  /** The longest cache-write TTL the request asks for (Anthropic `cache_control`): the input is held at that write price. */
  cacheWrite?: '5m' | '1h'
  /** The tier the request asks for (OpenAI `service_tier`): held at that tier's rates. */
  serviceTier?: ServiceTier
  /** The inference speed the request asks for (Anthropic `speed: 'fast'`): held at its multiplier. */
  speed?: string
  /** Where the request asks inference to run (Anthropic `inference_geo`): held at its multiplier. */
  inferenceGeo?: string
}

/**
 * How a stream ended, by its terminal event:
 * - `whole`: the whole answer (`message_stop`, a `finish_reason`, `response.completed`, or
 *   `response.incomplete` for `max_output_tokens`): logged `ok`, cached;
 * - `unstored`: ended by the provider, but not an answer to replay (`response.incomplete` for a
 *   content filter): logged `ok`, never cached;
 * - `cut`: no terminal event (the stream stopped short): logged `aborted` when its callers left
 *   (or the client went away), `error` (`STREAM_INCOMPLETE` in the metrics) when it ran to its
 *   end without one (the provider or a proxy closed it short); never cached;
 * - `error`: the provider reported a failure in the stream (`error`, `response.failed`, which
 *   openai 6 yields as events rather than throwing): logged `error`, recorded as an error in the
 *   metrics, never cached.
 */
export type StreamEnd =
  | { readonly kind: 'whole' | 'unstored' | 'cut' }
  | { readonly kind: 'error'; readonly error: Error }

/** The ends without an error (shared: a stream's end is classified once per stream). */
export const STREAM_WHOLE: StreamEnd = Object.freeze({ kind: 'whole' })
export const STREAM_UNSTORED: StreamEnd = Object.freeze({ kind: 'unstored' })
export const STREAM_CUT: StreamEnd = Object.freeze({ kind: 'cut' })

/** One provider API. */
export interface ApiSpec {
  /** `gen_ai.provider.name`. */
  readonly provider: 'anthropic' | 'openai'
  readonly api: UsageApi
  /** Model, messages and output worst case (`defaultMax` when the request sets no limit). */
  estimate(params: Params, defaultMax: number): RequestEstimate
  /**
   * The texts the input guard checks, or `undefined` for nothing to check: the messages (a
   * Responses `input` list: every item, role-less tool-loop items too).
   */
  guardInput(params: Params): string | GuardMessage[] | undefined
  /** Params with the guard's redactions applied (the same object when nothing changed). */
  applyGuard(params: Params, verdict: GuardInputVerdict): Params
  /**
   * The answer texts of a complete response, one per choice (OpenAI Chat `n > 1`: every choice is
   * returned to the caller, so the output guard checks every one), each with its tool calls'
   * arguments (see `call-texts.ts`). At least one text.
   */
  outputTexts(data: unknown): string[]
  /** The answer texts of recorded stream events, one per choice, as `outputTexts` (at least one). */
  streamTexts(events: readonly unknown[]): string[]
  /**
   * How a stream that ran to its end (nothing aborted, nothing thrown) ended, read from its
   * recorded events: a whole answer, one the provider ended short of a replayable answer, one cut
   * before its terminal event, or a failure the provider reported in the stream.
   */
  streamEnd(events: readonly unknown[]): StreamEnd
  /**
   * Whether recorded events hold the whole answer already, only its trailer still to come (an
   * OpenAI chat usage chunk after every choice's `finish_reason`, Anthropic's `message_stop` after
   * its `message_delta`, the Responses events closing the answer after its text's `.done`): a
   * stream whose last reader leaves then is read on to its end (briefly: `SharedStream`), so it
   * is charged its usage and cached rather than cut.
   */
  answered?(events: readonly unknown[]): boolean
  /**
   * Whether a complete (non-streamed) answer may be cached: only complete, successful answers
   * (not a refusal, a content-filtered or paused answer; see `replayable.ts`).
   */
  replayable(data: unknown): boolean
  /**
   * Params whose output is limited to `max` tokens when the request sets no limit (an OpenAI
   * request may leave it out; Anthropic requires `max_tokens`): the output the reservation held
   * is then all the provider can bill. The same object when the request has a limit.
   */
  limitOutput(params: Params, max: number): Params
  /** Params to send for a stream, and whether an injected usage chunk must be hidden. */
  prepareStream(params: Params): { params: Params; hideUsageChunk: boolean }
  /**
   * Whether a stream caller with these params gets the usage chunk (and `usage: null` fields)
   * hidden: what `prepareStream` says, without building the params (a cache hit). Only for an API
   * whose streams may carry one (OpenAI chat).
   */
  hidesUsage?(params: Params): boolean
  /** One event as SSE text (`asResponse()` of a stream). */
  encodeEvent(event: unknown): string
  /** Text after the last event (`data: [DONE]` for Chat Completions). */
  readonly sseTail: string
  /** The SDK's `Stream` class (cache hits are replayed through it). */
  readonly StreamClass: StreamClass
  /**
   * The SDK's errors for a caller who left a shared call (its signal aborted, its `timeout`
   * passed). The wrapped client's own classes win (its `APIUserAbortError` static: another copy or
   * major of the SDK); these are the fallback.
   */
  readonly AbortError: SdkErrorClass
  readonly TimeoutError: SdkErrorClass
  /**
   * The SDK's base error class (`AnthropicError`, `OpenAIError`): what a second read of a stream
   * throws. The wrapped client's own static wins, as for the two above.
   */
  readonly BaseError: SdkBaseErrorClass
  /** The name of the wrapped method, for logs: `messages.create`, … */
  readonly method: string
  /**
   * The route of the API the method calls when it is not the API's plain one: `'beta'` for the
   * SDKs' `beta.*.create` (`?beta=true`, its `betas` param sent as a header). Part of every key: an
   * answer from one route is never served to a call of the other.
   */
  readonly endpoint?: string
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Messages that carry a string `role` (what the guard and the estimator read). */
export function roleMessages(value: unknown): GuardMessage[] {
  if (!Array.isArray(value)) return []
  return value.filter((m): m is GuardMessage => isRec(m) && typeof m.role === 'string')
}

/**
 * `roleMessages` for a read-only use (the estimate): the array itself when every message carries a
 * role (nearly always), without the copy `filter` makes on every metered call.
 */
export function estimateMessages(value: unknown): readonly GuardMessage[] {
  if (!Array.isArray(value)) return []
  for (let i = 0; i < value.length; i++) {
    const m: unknown = value[i]
    if (!(isRec(m) && typeof m.role === 'string')) return roleMessages(value)
  }
  return value as GuardMessage[]
}

/**
 * Params with `field` replaced by the guard's redacted messages, when it redacted any. They replace
 * the list only when they map one to one onto it (the guard read every item: a Responses tool
 * loop's role-less items too, see `openai/spec.ts`); a list with entries the guard was not given
 * (not objects, or no role in a Chat or Anthropic list) is sent as it is.
 */
export function applyMessages(params: Params, field: string, verdict: GuardInputVerdict): Params {
  const original = params[field]
  if (verdict.messages === undefined || verdict.messages === original) return params
  if (!Array.isArray(original) || verdict.messages.length !== original.length) return params
  return { ...params, [field]: verdict.messages }
}

/**
 * `estimate` counting a structured-output JSON schema too (OpenAI `response_format` / Responses
 * `text.format`, Anthropic `output_config.format` of type `json_schema`): the provider puts the
 * schema in the prompt and bills it as input, so it is counted as a tool definition is (its JSON).
 */
export function withOutputSchema(estimate: RequestEstimate, format: unknown): RequestEstimate {
  if (!isRec(format) || format.type !== 'json_schema') return estimate
  estimate.tools = estimate.tools === undefined ? [format] : [...estimate.tools, format]
  return estimate
}

/** A positive integer or `fallback`. */
export function maxTokens(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : fallback
}

export { isRec }
