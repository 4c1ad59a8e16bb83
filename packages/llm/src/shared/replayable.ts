/**
 * @module replayable
 * Which finished answers the cache may replay: only complete, successful ones (DESIGN.md), by the
 * same rule as `@aikit/cache`'s LLM cache. An answer the provider stopped for a refusal, a content
 * filter, a paused server-tool turn or a full context window reached the caller, but replaying it
 * to the next caller would repeat a non-answer for the cache's whole lifetime.
 */

/** Anthropic `stop_reason`s of a complete answer. */
const ANTHROPIC_COMPLETE = new Set(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use'])
/** OpenAI Chat `finish_reason`s of a complete choice. */
const CHAT_COMPLETE = new Set(['stop', 'length', 'tool_calls', 'function_call'])

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A complete Anthropic stop reason (`refusal`, `pause_turn`, … are not). */
export function anthropicReplayable(stopReason: unknown): boolean {
  return typeof stopReason === 'string' && ANTHROPIC_COMPLETE.has(stopReason)
}

/**
 * A Chat Completions answer whose every choice finished completely. A refusal arrives with
 * `finish_reason: 'stop'` and the text in `message.refusal`: not an answer to replay.
 */
export function chatReplayable(data: unknown): boolean {
  if (!isRec(data) || !Array.isArray(data.choices) || data.choices.length === 0) return false
  return data.choices.every(
    (c) =>
      isRec(c) &&
      chatFinishReplayable(c.finish_reason) &&
      !(isRec(c.message) && isRefusal(c.message.refusal))
  )
}

/** A non-empty `refusal` text (Chat `message.refusal` / `delta.refusal`). */
export function isRefusal(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0
}

/** A Responses `output` list holding a `refusal` content part (the model declined). */
export function responsesRefused(output: unknown): boolean {
  if (!Array.isArray(output)) return false
  for (const item of output) {
    if (!isRec(item) || !Array.isArray(item.content)) continue
    for (const part of item.content) if (isRec(part) && part.type === 'refusal') return true
  }
  return false
}

/** A complete Chat `finish_reason` (`content_filter` is not). */
export function chatFinishReplayable(reason: unknown): boolean {
  return typeof reason === 'string' && CHAT_COMPLETE.has(reason)
}

/** A Responses answer that completed, or was cut only at `max_output_tokens`. */
export function responsesReplayable(data: unknown): boolean {
  if (!isRec(data) || responsesRefused(data.output)) return false
  if (data.status === 'completed') return true
  const details = isRec(data.incomplete_details) ? data.incomplete_details : undefined
  return data.status === 'incomplete' && details?.reason === 'max_output_tokens'
}
