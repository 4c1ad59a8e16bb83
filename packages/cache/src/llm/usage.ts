/**
 * @module llm/usage
 * Token counts read from a cached answer, so a hit can report the tokens it saved.
 */

/** Input and output tokens of an answer (0 when the answer does not say). */
export interface TokenUsage {
  input: number
  output: number
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)

/** Usage of a JSON answer: Anthropic `usage.input_tokens/output_tokens`, OpenAI `usage.prompt_tokens/completion_tokens`. */
export function usageOfAnswer(answer: unknown): TokenUsage {
  const usage = (answer as { usage?: Record<string, unknown> } | null)?.usage
  if (usage === null || typeof usage !== 'object') return { input: 0, output: 0 }
  return {
    input: num(usage.input_tokens) + num(usage.prompt_tokens),
    output: num(usage.output_tokens) + num(usage.completion_tokens),
  }
}

/**
 * Usage of a recorded stream: Anthropic `message_start.message.usage` + the last `message_delta.usage`;
 * OpenAI the chunk carrying `usage` (sent with `stream_options.include_usage`).
 */
export function usageOfStream(events: readonly unknown[]): TokenUsage {
  let input = 0
  let output = 0
  for (const event of events) {
    const e = event as Record<string, unknown> | null
    if (e === null || typeof e !== 'object') continue
    if (e.type === 'message_start') {
      const u = usageOfAnswer(e.message)
      input = u.input
      output = Math.max(output, u.output)
    } else if (e.type === 'message_delta') {
      const u = e.usage as Record<string, unknown> | undefined
      if (u !== undefined && u !== null) {
        output = Math.max(output, num(u.output_tokens))
        if (num(u.input_tokens) > 0) input = num(u.input_tokens)
      }
    } else if (e.usage !== undefined && e.usage !== null) {
      const u = usageOfAnswer(e)
      input = u.input
      output = u.output
    }
  }
  return { input, output }
}
