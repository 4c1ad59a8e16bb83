/**
 * @module llm/completeness
 * Which LLM answers are complete, successful ones (the only ones worth storing): the model ended
 * its turn, hit the caller's token limit, a stop sequence, or asked for a tool. A refusal, a content
 * filter cut, a paused turn, an overflowing context window, an error or a background job still
 * running are not answers to replay.
 */

/**
 * Anthropic `stop_reason`s of a complete answer. Not complete: `refusal` (the model declined),
 * `pause_turn` (a long server-tool turn paused: the client must send it back to continue) and
 * `model_context_window_exceeded` (cut by the context window, which request headers such as a
 * 1M-context beta change while the cache key does not).
 */
const ANTHROPIC_COMPLETE = new Set(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use'])

/** OpenAI chat `finish_reason`s of a complete choice. Not complete: `content_filter`. */
const OPENAI_COMPLETE = new Set(['stop', 'length', 'tool_calls', 'function_call'])

/**
 * A recorded Anthropic stream: a `message_stop` event, the last `message_delta`'s `stop_reason`
 * one of end_turn / max_tokens / stop_sequence / tool_use, and no `error` event.
 */
export function isCompleteAnthropicStream(events: readonly unknown[]): boolean {
  let stopped = false
  let reason: unknown
  for (const event of events) {
    const e = event as { type?: unknown; delta?: { stop_reason?: unknown } | null } | null
    const type = e?.type
    if (type === 'error') return false
    if (type === 'message_stop') stopped = true
    else if (type === 'message_delta') {
      const r = e?.delta?.stop_reason
      if (r !== undefined && r !== null) reason = r
    }
  }
  return stopped && typeof reason === 'string' && ANTHROPIC_COMPLETE.has(reason)
}

/**
 * A recorded OpenAI chat stream: no chunk with an `error` member, and every choice index seen (with
 * `n > 1` choices stream interleaved) finished with stop / length / tool_calls / function_call (a
 * `content_filter` finish makes it incomplete), at least `expectedChoices` of them (the request's
 * `n`, when known: choices `0..n-1`).
 */
export function isCompleteOpenAiChat(events: readonly unknown[], expectedChoices: number): boolean {
  const finished = new Set<number>()
  const unfinished = new Set<number>()
  for (const chunk of events) {
    if (chunk === null || typeof chunk !== 'object') return false
    if ('error' in chunk) return false
    const choices = (chunk as { choices?: unknown }).choices
    if (!Array.isArray(choices)) continue
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i] as {
        index?: unknown
        finish_reason?: unknown
        delta?: { refusal?: unknown } | null
      } | null
      // A refusal streams as `delta.refusal` and still finishes with 'stop'.
      if (isRefusal(choice?.delta?.refusal)) return false
      const index = typeof choice?.index === 'number' ? choice.index : i
      const reason = choice?.finish_reason
      if (typeof reason === 'string' && reason.length > 0) {
        if (!OPENAI_COMPLETE.has(reason)) return false
        finished.add(index)
        unfinished.delete(index)
      } else if (!finished.has(index)) unfinished.add(index)
    }
  }
  if (finished.size === 0 || unfinished.size > 0) return false
  for (let i = 0; i < expectedChoices; i++) if (!finished.has(i)) return false
  return true
}

/**
 * A JSON (non-streamed) answer, by its shape:
 * - a non-null `error` member: incomplete;
 * - an Anthropic message (`stop_reason`): as `isCompleteAnthropicStream`'s stop reasons;
 * - an OpenAI chat or text completion (`choices`): at least one choice, every `finish_reason` as
 *   `isCompleteOpenAiChat`'s;
 * - an OpenAI Responses object (`object: 'response'`): `status` `completed`, or `incomplete` for
 *   `max_output_tokens` (the `length` of chat); `queued`, `in_progress`, `failed`, `cancelled` and a
 *   content filter cut are not;
 * - anything else (another provider's shape, a string): complete.
 */
export function isCompleteAnswer(answer: unknown): boolean {
  if (answer === null || typeof answer !== 'object') return true
  const a = answer as Record<string, unknown>
  if (a.error !== undefined && a.error !== null) return false
  if ('stop_reason' in a)
    return typeof a.stop_reason === 'string' && ANTHROPIC_COMPLETE.has(a.stop_reason)
  if (a.object === 'response') {
    if (responsesRefused(a.output)) return false
    if (a.status === 'completed') return true
    const details = a.incomplete_details as { reason?: unknown } | null | undefined
    return a.status === 'incomplete' && details?.reason === 'max_output_tokens'
  }
  if (Array.isArray(a.choices)) {
    if (a.choices.length === 0) return false
    for (const choice of a.choices) {
      const c = choice as { finish_reason?: unknown; message?: { refusal?: unknown } | null } | null
      const reason = c?.finish_reason
      if (typeof reason !== 'string' || !OPENAI_COMPLETE.has(reason)) return false
      // A refusal finishes with 'stop', its text in `message.refusal`.
      if (isRefusal(c?.message?.refusal)) return false
    }
    return true
  }
  return true
}

/** A non-empty `refusal` text (OpenAI Chat `message.refusal` / `delta.refusal`). */
function isRefusal(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0
}

/** A Responses `output` list holding a `refusal` content part (the model declined). */
function responsesRefused(output: unknown): boolean {
  if (!Array.isArray(output)) return false
  for (const item of output) {
    const content = (item as { content?: unknown } | null)?.content
    if (!Array.isArray(content)) continue
    for (const part of content) {
      if ((part as { type?: unknown } | null)?.type === 'refusal') return true
    }
  }
  return false
}
