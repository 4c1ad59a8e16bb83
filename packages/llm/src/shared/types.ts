/**
 * @module types
 * The options of `wrapAnthropic` / `wrapOpenAI` (with the list of their keys, beside each options
 * type), and the small STRUCTURAL interfaces of the parts
 * they drive. `@aikit/cache`, `@aikit/observability`, `@aikit/security` and `@aikit/ratelimit` are
 * not imported: any object of the right shape works, and their real objects are such objects.
 */
import type { Budget, PriceTable } from '@aikit/cost'

/**
 * A cache for complete LLM answers. Structural: `get` resolves `undefined` on a miss.
 * (`@aikit/cache`'s `createCache()` is to be wired here; values are JSON-serialisable.)
 */
export interface LlmCache {
  get(key: string): Promise<unknown>
  set(key: string, value: unknown): Promise<unknown>
}

/**
 * Builds the cache key of a call. Default: `llm:<api>:<scope>:<sha-256 of the sorted-key JSON params>`.
 * Returning `undefined` keeps that call out of the cache (read and store). The request options that
 * change the request (headers, query, …) are not passed: their SHA-256 digest is appended to the
 * returned key (`<key>:<digest>`) when the call has any.
 */
export type LlmCacheKeyFn = (
  params: Readonly<Record<string, unknown>>,
  info: { readonly scope: string; readonly api: string }
) => string | undefined | Promise<string | undefined>

/** Token usage as the metrics see it. */
export interface LlmMetricsUsage {
  inputTokens?: number
  outputTokens?: number
}

/** One finished LLM call, named after the OpenTelemetry GenAI conventions (`@aikit/observability`'s `LlmCallRecord`). */
export interface LlmCallMetric {
  /** `gen_ai.provider.name`: `'anthropic'` or `'openai'`. */
  provider: string
  /** The model the request asked for. */
  model?: string
  /** `gen_ai.operation.name`: `'chat'`. */
  operation?: string
  /** Seconds from sending the request to the last chunk (or the error). */
  durationSeconds: number
  /** Seconds to the first streamed event (streams only). */
  timeToFirstChunkSeconds?: number
  usage?: LlmMetricsUsage
  /** Priced cost in US dollars. */
  costUsd?: number
  /** The error that ended the call. */
  error?: unknown
}

/** Metrics sink. Structural: `@aikit/observability`'s `createMetrics()` fits. */
export interface LlmMetrics {
  recordLlmCall(record: LlmCallMetric): void
  /** Counts a cache outcome (optional). */
  recordCache?(record: { result: 'hit' | 'miss' | 'coalesced'; cache?: string }): void
}

/** Logger. Structural: a winston logger (`@aikit/observability`'s `createLogger()`) or pino-like object with `info`. */
export interface LlmLogger {
  info(message: string, meta: Record<string, unknown>): unknown
}

/** A chat message as the guard reads it (Anthropic and OpenAI shapes). */
export interface GuardMessage {
  role: string
  content?: unknown
  [key: string]: unknown
}

/** What the guard answers for an input. */
export interface GuardInputVerdict {
  allowed: boolean
  blockedBy: readonly string[]
  /** The messages with redactions applied (the same array when nothing changed). */
  messages?: GuardMessage[] | undefined
  /** The text with redactions applied (string input). */
  text: string
}

/** What the guard answers for an output. */
export interface GuardOutputVerdict {
  allowed: boolean
  blockedBy: readonly string[]
}

/** Input/output guard. Structural: `@aikit/security`'s `promptGuard(...)` fits. */
export interface LlmGuard {
  checkInput(input: string | GuardMessage[]): Promise<GuardInputVerdict>
  /**
   * Called once per answer text: with OpenAI Chat `n > 1`, once per choice (every choice is
   * returned to the caller); any blocked one blocks the answer.
   */
  checkOutput(text: string): Promise<GuardOutputVerdict>
}

/**
 * A token reservation (structural: `@aikit/ratelimit`'s `Reservation` fits). Only its first
 * `settle` or `release` counts.
 */
export interface LlmTokenReservation {
  /** Whether the tokens were granted. */
  readonly allowed: boolean
  /** The check behind the answer: the wait before the same reservation could pass (`-1`: never). */
  readonly result: { readonly retryAfterMs: number }
  /** Charges the actual tokens instead of the reserved ones (refunds or charges the difference). */
  settle(actual: number): Promise<unknown>
  /** Gives every reserved token back. */
  release(): Promise<unknown>
}

/**
 * A limiter whose units are tokens. Structural: `@aikit/ratelimit`'s
 * `createRateLimiter({ limits: [{ limit: 100_000, window: '1m' }] })` fits.
 */
export interface LlmTokenLimiter {
  reserve(key: string, units: number): Promise<LlmTokenReservation>
}

/** What a token-limit key is built from. */
export interface TokenLimitKeyInfo {
  /** The call's subject (per-call override → request context → `subject` option), if any. */
  readonly subject: string | undefined
  /** `'anthropic'` or `'openai'`. */
  readonly provider: string
  /** The model the request asked for. */
  readonly model: string
}

/** The limiter key of a call; `undefined` leaves that call unlimited. */
export type TokenLimitKeyFn = (info: TokenLimitKeyInfo) => string | undefined

/** The `tokenLimit` option in full. */
export interface TokenLimitOptions {
  /** The limiter the tokens are reserved on (units = tokens). */
  limiter: LlmTokenLimiter
  /**
   * The limiter key of a call. Default: the call's subject (the one the budget uses), or
   * `'*'` (one app-wide key) when the call has none.
   */
  key?: TokenLimitKeyFn
}

/** The keys of the `{ limiter, key }` form of `tokenLimit`. */
export const TOKEN_LIMIT_OPTION_KEYS = [
  'limiter',
  'key',
] as const satisfies readonly (keyof TokenLimitOptions)[]

/** Cache behaviour of one call: `'default'` (read and store), `'no-store'` (neither, no coalescing), `'refresh'` (skip the read, store the fresh answer). */
export type CacheMode = 'default' | 'no-store' | 'refresh'

/** Options of `wrapAnthropic` / `wrapOpenAI`. Every part is optional: with none, calls pass through with metering only. */
export interface WrapOptions {
  /** Budget every call reserves its worst case on and settles its actual cost to. Default none. */
  budget?: Budget
  /**
   * Token rate limit: before the provider call (after the budget reserve), the estimated tokens
   * (estimated input + the request's `max_tokens` / `max_completion_tokens` /
   * `max_output_tokens`, else `defaultMaxOutputTokens`) are reserved on the limiter; a denial
   * throws `TokenRateLimitedError` (429 `RATE_LIMITED`) with no provider call. After the call the
   * reservation settles to the provider's actual input + output tokens (a stream: from its final
   * usage event, or what was produced when cut short); a provider error gives the tokens back.
   * Cache hits and coalesced followers take none. A limiter alone keys by subject (else `'*'`);
   * `{ limiter, key }` chooses the key. Default none.
   */
  tokenLimit?: LlmTokenLimiter | TokenLimitOptions
  /** Cache of complete answers (scoped per subject). Default none. */
  cache?: LlmCache
  /**
   * Also cache sampled requests (no `temperature: 0` and no `seed`), pinning one sample per key.
   * Default `false`: only deterministic requests are read from and stored in the cache (a sampled
   * request asks for a fresh answer each time), as `@aikit/cache`'s `createLlmCache` does.
   */
  cacheSampling?: boolean
  /** Cache key builder (wire `@aikit/cache`'s `llmCacheKey` here). Default: SHA-256 of the sorted-key JSON params, scoped. */
  cacheKey?: LlmCacheKeyFn
  /** Metrics sink. Default none. */
  metrics?: LlmMetrics
  /** Logger: one `info('llm call', {...})` line per call. Default none. */
  logger?: LlmLogger
  /** Prompt guard on the input (before the call) and on the output, every choice of it (before returning / caching). Default none. */
  guard?: LlmGuard
  /** Subject used when neither the call nor the current request context names one. Default none. */
  subject?: string
  /** Throw `SubjectRequiredError` when no subject is found (instead of the app-wide cache scope). Default `false`. A budget always needs a subject. */
  requireSubject?: boolean
  /** Identical concurrent calls (same params, scope and request options) share one provider call. Default `true`. */
  coalesce?: boolean
  /** Output worst case reserved when a request sets no output limit (OpenAI `max_tokens` unset). Default `4096`. */
  defaultMaxOutputTokens?: number
  /** Prices for the cost reported in metrics and logs (a budget uses its own). Default `defaultPriceTable()`. */
  priceTable?: PriceTable
}

/** Every key of `WrapOptions`: `wrapAnthropic` / `wrapOpenAI` refuse any other. */
export const WRAP_OPTION_KEYS = [
  'budget',
  'tokenLimit',
  'cache',
  'cacheSampling',
  'cacheKey',
  'metrics',
  'logger',
  'guard',
  'subject',
  'requireSubject',
  'coalesce',
  'defaultMaxOutputTokens',
  'priceTable',
] as const satisfies readonly (keyof WrapOptions)[]

/** Per-call override, passed with `aikit({...})` as the SDK's request options. */
export interface CallOverride {
  /** Budget subject and cache scope of this call (wins over the context and the wrapper option). */
  subject?: string
  /** Cache behaviour of this call. Default `'default'`. */
  cache?: CacheMode
}

/** Every key of `CallOverride`: `aikit(...)` refuses any other. */
export const CALL_OVERRIDE_KEYS = [
  'subject',
  'cache',
] as const satisfies readonly (keyof CallOverride)[]
