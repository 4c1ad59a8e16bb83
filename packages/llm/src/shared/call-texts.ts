/**
 * @module call-texts
 * The texts of the tool calls in an answer, for the output guard. A tool call is output too, and
 * the app runs it (an email sent, a URL fetched): a canary or secret in its arguments leaves as
 * surely as one in the answer's text, so the guard reads both.
 */

/**
 * The text of a tool call's arguments: a JSON string as it came (OpenAI `arguments`, the joined
 * `input_json_delta`s of an Anthropic stream) or an object as JSON (Anthropic `tool_use.input`).
 * A JSON string holding escapes is read decoded too: `\u0043ANARY` is what the tool gets as
 * `CANARY`, and the guard matches plain text.
 */
export function argumentsText(args: unknown): string {
  if (typeof args !== 'string') return args === undefined || args === null ? '' : jsonText(args)
  if (!args.includes('\\')) return args
  try {
    const decoded = jsonText(JSON.parse(args))
    return decoded === args ? args : `${args}\n${decoded}`
  } catch {
    return args // Not JSON (a custom tool's free-form input): read as it came.
  }
}

/** `value` as JSON (`''` for what JSON cannot hold). */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? ''
  } catch {
    return ''
  }
}

/**
 * One answer's text for the guard: its text, then each of its tool calls' argument texts, a line
 * each (the text alone when it made no call, so a plain answer is read as it always was).
 */
export function withCallTexts(text: string, calls: readonly string[]): string {
  const parts = calls.filter((call) => call !== '')
  if (parts.length === 0) return text
  return text === '' ? parts.join('\n') : `${text}\n${parts.join('\n')}`
}
