/**
 * @module sse-format
 * SSE framing of one event: `event: <type>` + `data: <json>` (Anthropic, OpenAI Responses) or
 * `data: <json>` only (OpenAI Chat Completions).
 */

/** `event: <type>\ndata: <json>\n\n`. */
export function namedEvent(event: unknown): string {
  const type = (event as { type?: unknown } | null)?.type
  return `event: ${typeof type === 'string' ? type : 'message'}\ndata: ${JSON.stringify(event)}\n\n`
}

/** `data: <json>\n\n`. */
export function dataEvent(event: unknown): string {
  return `data: ${JSON.stringify(event)}\n\n`
}
