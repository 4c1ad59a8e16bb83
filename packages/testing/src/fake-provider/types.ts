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

/** A streaming response held back part-way (see {@link FakeProvider.holdStreamAfter}). */
export interface StreamHold {
  /** Resolves once the held response has written (and flushed) its first events and is waiting. */
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
  /** Clears calls, queued failures/hangs/breaks, reply, delay and usage override. */
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
  /** Replace the reply function (`undefined` restores the echo default). */
  setReply(fn: ReplyFn | undefined): void
  /** Delay between SSE chunks in milliseconds. */
  setStreamDelayMs(ms: number): void
  /** Override reported usage (`undefined` restores derived counts). */
  setUsage(override: UsageOverride | undefined): void
  /** Resolves once no request is in flight (answered, aborted or dropped). */
  idle(): Promise<void>
}
