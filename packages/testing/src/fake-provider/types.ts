/** Which wire protocol a request was routed to. */
export type FakeApi = 'anthropic' | 'openai-chat' | 'openai-responses'

/** What a reply function gets to decide the answer text. */
export interface ReplyContext {
  /** Protocol of the request. */
  readonly api: FakeApi
  /** Text of the last user message (parts joined with no separator). */
  readonly lastUserText: string
  /** The parsed JSON request body, as sent by the client. */
  readonly body: Record<string, unknown>
}

/** Computes the assistant's answer text. Must be synchronous and deterministic. */
export type ReplyFn = (ctx: ReplyContext) => string

/**
 * Usage numbers to report instead of the derived ones. Values are copied verbatim into
 * each provider's fields: `inputTokens` → Anthropic `input_tokens` / OpenAI `prompt_tokens`
 * / Responses `input_tokens`; `cachedInputTokens` → `cache_read_input_tokens` /
 * `cached_tokens`; `cacheCreationInputTokens` → `cache_creation_input_tokens` (Anthropic only);
 * `reasoningTokens` → `reasoning_tokens` (OpenAI only).
 */
export interface UsageOverride {
  inputTokens?: number
  outputTokens?: number
  cachedInputTokens?: number
  cacheCreationInputTokens?: number
  reasoningTokens?: number
}

/** Resolved usage of one answer, provider-neutral. */
export interface FakeUsage {
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  cacheCreationInputTokens: number
  reasoningTokens: number
}

/** How an injected failure should look. */
export interface FailureSpec {
  /** HTTP status, e.g. 429, 529, 500, 400. */
  status: number
  /**
   * Seconds for the `retry-after` header (fractions allowed); it replaces a `retry-after` given in
   * `headers`; `null` sends no `retry-after` at all. When it is not given, the headers are sent as
   * given and a 429 with neither a `retry-after` nor a `retry-after-ms` header (any case) gets
   * `retry-after: 1`.
   */
  retryAfter?: number | null
  /** Replace the provider-shaped error body (objects are sent as JSON, strings verbatim). */
  body?: unknown
  /** Extra response headers. */
  headers?: Record<string, string>
}

/**
 * How one answer departs from the fake's default (a complete answer to the request, its usage
 * derived from the text). Every field is optional; a field of another API than the request's makes
 * the fake answer 500 (a test mistake, not a provider behaviour). See {@link FakeProvider.answerNext}.
 */
export interface AnswerPlan {
  /** The model the answer names, e.g. a dated snapshot (`gpt-4o-2024-08-06`). Default: the request's. */
  model?: string
  /**
   * Usage numbers of this answer, over `setUsage`'s, copied verbatim: a negative or fractional
   * count makes a malformed usage the provider really sent.
   */
  usage?: UsageOverride
  /**
   * The model declines with this text. Anthropic: the text is the answer and `stop_reason` is
   * `'refusal'` (unless `stopReason` says otherwise); Chat Completions: `message.refusal` (content
   * `null`) or `delta.refusal` chunks, `finish_reason` `'stop'`; Responses: a `refusal` content part
   * (`response.refusal.delta` / `.done` events in a stream), status `completed`.
   */
  refusal?: string
  /** Anthropic: the `stop_reason` (`'refusal'`, `'pause_turn'`, …) of the answer and its stream. */
  stopReason?: string
  /**
   * Anthropic streams: cumulative usage of extra `message_delta` events sent, in order, before the
   * final one (which carries `usage`).
   */
  usageUpdates?: readonly UsageOverride[]
  /**
   * Chat Completions: the `finish_reason` of each choice by index (`n` choices are answered when the
   * request sets `n`); a choice beyond the list keeps the derived one (`'stop'`, `'length'` when cut).
   */
  finishReasons?: readonly string[]
  /**
   * Chat Completions: the text of each choice by index, instead of the reply (a choice beyond the
   * list keeps the reply); at most the request's `n` of them. A text given as an array is streamed
   * as those deltas (a string is split into word-sized ones). A stream interleaves the choices'
   * deltas, as the API does, and finishes each choice right after its last delta: choices of
   * different lengths end at different points. Not with `refusal`.
   */
  choices?: readonly (string | readonly string[])[]
  /**
   * Responses: the answer ends `incomplete` with this `incomplete_details.reason` (`'content_filter'`,
   * …); a stream ends with `response.incomplete`.
   */
  incompleteReason?: string
  /**
   * Responses: the model fails: the answer has status `failed` and this `error`; a stream sends its
   * text deltas, then ends with `response.failed` (no `.done` events). Not with `refusal` or
   * `incompleteReason`.
   */
  failure?: { readonly code: string; readonly message: string }
}

/** One request as seen by the fake provider. Headers carrying secrets are redacted. */
export interface RecordedCall {
  readonly method: string
  readonly path: string
  /** Parsed JSON body, or the raw text when it was not JSON. */
  readonly body: unknown
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  /** `Date.now()` when the request arrived. */
  readonly receivedAt: number
  /** Response status once headers were sent; undefined while hung. */
  status: number | undefined
  /** True when the client closed the connection before the response was complete. */
  aborted: boolean
  /** True when the fake deliberately dropped the connection (`breakStreamAfter`). */
  broken: boolean
}

/**
 * A response held back: part-way through a stream ({@link FakeProvider.holdStreamAfter}) or before
 * it starts ({@link FakeProvider.holdNext}).
 */
export interface StreamHold {
  /**
   * Resolves once the response is held: a stream's first events written (and flushed), or a held
   * request read and recorded.
   */
  readonly reached: Promise<void>
  /** Sends the rest of the held response. Idempotent. */
  release(): void
}

/** Options for {@link startFakeProvider}. */
export interface FakeProviderOptions {
  /** Answer text; defaults to `Echo: <last user text>`. */
  reply?: ReplyFn
  /** Delay between SSE chunks in milliseconds (default 0). */
  streamDelayMs?: number
  /** Usage override applied to every answer. */
  usage?: UsageOverride
}

/** Handle returned by {@link startFakeProvider}. */
export interface FakeProvider {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** Base URL for `new Anthropic({ baseURL })` (same as `url`). */
  readonly anthropicBaseURL: string
  /** Base URL for `new OpenAI({ baseURL })` (`url + '/v1'`). */
  readonly openaiBaseURL: string
  /** Every request received since start or the last `reset()`, oldest first (live array). */
  readonly calls: RecordedCall[]
  /** Number of recorded calls, optionally only those whose path equals `path`. */
  count(path?: string): number
  /** Clears calls, queued failures/hangs/holds/breaks/ends/answer plans, reply, delay and usage override. */
  reset(): void
  /** Destroys open sockets, clears timers and stops listening. Idempotent. */
  close(): Promise<void>
  /** The next `n` requests fail with `spec`. Queued in order with `hangNext`. */
  failNext(n: number, spec: FailureSpec): void
  /** The next `n` requests are read and never answered (until the client aborts or `close()`). */
  hangNext(n: number): void
  /**
   * The next streaming response drops its connection after `nChunks` SSE events (after the last
   * one, before the response ends, when `nChunks` is that many or more).
   */
  breakStreamAfter(nChunks: number): void
  /**
   * The next streaming response writes its first `nEvents` SSE events, then sends nothing more
   * until `release()` (or `reset()` / `close()`, or the client going away). Lets a test prove a
   * client sees the first events while the provider still holds the rest, without timing anything.
   * With `nEvents` equal to or beyond the number of events, every event is written and the end of
   * the response is held.
   */
  holdStreamAfter(nEvents: number): StreamHold
  /**
   * The next streaming response sends its first `nEvents` SSE events, then the provider's in-stream
   * error event (Anthropic `event: error` with an `overloaded_error`, a Chat Completions chunk
   * `{ error }`, a Responses `error` event with the next `sequence_number`) carrying `message`,
   * and ends there (HTTP status 200). With `nEvents` equal to or beyond the number of events, the
   * error event follows the last one. `message` defaults to `'Overloaded (fake provider).'`.
   */
  errorStreamAfter(nEvents: number, message?: string): void
  /**
   * The next streaming response sends its first `nEvents` SSE events, then ends the response
   * normally (HTTP status 200, a clean end, no error): a stream whose last events never came
   * (no `[DONE]`, no `message_stop`, no `response.completed`), as a proxy closing it cleanly would
   * leave it. With `nEvents` equal to or beyond the number of events, every event is sent.
   */
  endStreamAfter(nEvents: number): void
  /**
   * The next `n` answers follow `plan` (see {@link AnswerPlan}): refusals, stop and finish reasons,
   * incomplete answers, usage (malformed too), the model answered with. Queued in order; taken only
   * by a request that is answered (not one refused as malformed, failed by `failNext` or hung).
   * @throws TypeError for a plan with an unknown field or a field of the wrong type.
   */
  answerNext(n: number, plan: AnswerPlan): void
  /**
   * The next request is read and recorded, then answered (as it would have been) only on
   * `release()` (or `reset()` / `close()`); `reached` resolves once it is held. Lets a test look at
   * what a client holds while its request is in flight. Queued in order with `failNext` / `hangNext`.
   */
  holdNext(): StreamHold
  /** Replace the reply function (`undefined` restores the echo default). */
  setReply(fn: ReplyFn | undefined): void
  /** Delay between SSE chunks in milliseconds. */
  setStreamDelayMs(ms: number): void
  /** Override reported usage (`undefined` restores derived counts). */
  setUsage(override: UsageOverride | undefined): void
  /** Resolves once no request is in flight (answered, aborted or dropped). */
  idle(): Promise<void>
}
