/**
 * @module unanswered
 * What a call that ended without an answer, once its request was sent, is charged. A provider does
 * not stop a non-streamed generation when the client goes away, and a request that timed out
 * usually completes on the provider's side: both are billed though nobody reads the answer. So an
 * aborted or timed-out call is charged what was held for it (its input estimate plus the output
 * held), never $0: otherwise sending expensive requests and aborting each at once would spend
 * without limit while the budget showed nothing. A stream is charged as a stream cut before its
 * first event is: its input estimate (a provider stops a stream's generation when its client goes).
 *
 * The SDK's retries happen inside its `create`: the wrapper counts them through the client's
 * `fetch` when it can (attempts.ts). When it cannot, `billedAttempts` estimates them: an attempt
 * it timed out and retried may have been billed too. Each such attempt took at least the SDK's
 * `timeout`, so at most `elapsed / timeout` of them (and at most `maxRetries`) can have timed out
 * before the last attempt: that many more are charged. With the default 10-minute timeout a call
 * that ends sooner is charged once.
 */
import type { Usage } from '@aikit/cost'

/** Both SDKs' default `maxRetries`. */
const DEFAULT_MAX_RETRIES = 2

/** A non-negative integer option of the request options or the client, else `undefined`. */
function countOf(from: unknown, field: 'maxRetries' | 'timeout'): number | undefined {
  const value = (from as Record<string, unknown> | null | undefined)?.[field]
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}

/**
 * How many attempts of a call that got no answer the provider may have billed: the last one, and
 * every earlier one that may have timed out (`elapsedMs` since the request was first sent, read
 * against the `timeout` and `maxRetries` of the request options, else of the client).
 */
export function billedAttempts(
  elapsedMs: number,
  rest: Record<string, unknown> | undefined,
  client: unknown,
  defaultTimeoutMs: number
): number {
  const retries = Math.floor(
    countOf(rest, 'maxRetries') ?? countOf(client, 'maxRetries') ?? DEFAULT_MAX_RETRIES
  )
  if (retries === 0) return 1
  const timeout = countOf(rest, 'timeout') ?? countOf(client, 'timeout') ?? defaultTimeoutMs
  const timedOut = timeout > 0 ? Math.floor(elapsedMs / timeout) : retries
  return 1 + Math.min(retries, timedOut)
}

/**
 * The charge for `attempts` unanswered attempts: the held worst case (micro-dollars) each for a
 * non-streamed call; the input estimate each for a stream (as a stream cut before its first event).
 */
export function unansweredCharge(
  heldMicros: number,
  stream: boolean,
  inputTokens: number | undefined,
  attempts: number
): number | Usage {
  if (!stream || inputTokens === undefined) return heldMicros * attempts
  return { inputTokens: inputTokens * attempts, outputTokens: 0, estimated: true }
}

/** The counts of a usage that an unanswered stream attempt is billed for: its input. */
const INPUT_COUNTS = new Set([
  'inputTokens',
  'cacheReadTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
])

/**
 * `usage` of a call answered after `timedOut` earlier attempts that the SDK aborted at its
 * `timeout` and retried: each of those is billed as an unanswered attempt (see above), so the
 * answered usage counts `1 + timedOut` times for a non-streamed call (the provider finished each
 * earlier generation; the answer's own usage is the best measure of it), and its input counts that
 * many times for a stream (the provider stops a stream whose client went). Marked `estimated`.
 */
export function withTimedOutAttempts(usage: Usage, timedOut: number, stream: boolean): Usage {
  if (!(timedOut > 0)) return usage
  const times = 1 + timedOut
  const out: Record<string, unknown> = { ...usage, estimated: true }
  for (const [field, value] of Object.entries(usage)) {
    if (typeof value === 'number' && (!stream || INPUT_COUNTS.has(field)))
      out[field] = value * times
  }
  // Anthropic compaction steps are sampled again by each generation.
  if (!stream && usage.compactions !== undefined) {
    out.compactions = Array.from({ length: times }, () => usage.compactions ?? []).flat()
  }
  return out as unknown as Usage
}
