/**
 * @module openai-stream
 * OpenAI Chat Completions streams report usage only with `stream_options.include_usage`. A proxy or
 * wrapper that meters cost injects it when the caller did not ask, and then hides the extra usage
 * chunk (and the `usage: null` field it adds to every other chunk) so the caller sees the stream it
 * asked for.
 */

/** What `prepareOpenAIStreamParams` returns. */
export interface PreparedStreamParams<P> {
  /** The params to send (a copy when changed; the caller's object is never modified). */
  readonly params: P
  /** `true` when `include_usage` was injected: pass every chunk through `filterOpenAIChunk`. */
  readonly hideUsageChunk: boolean
}

type Rec = Record<string, unknown>
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Makes a streaming chat request report its usage. Non-streaming params, and params that already
 * ask for `include_usage: true`, are returned unchanged with `hideUsageChunk: false`.
 */
export function prepareOpenAIStreamParams<P extends object>(params: P): PreparedStreamParams<P> {
  const p = params as Rec
  if (p.stream !== true) return { params, hideUsageChunk: false }
  const existing = isRec(p.stream_options) ? p.stream_options : undefined
  if (existing?.include_usage === true) return { params, hideUsageChunk: false }
  return {
    params: { ...params, stream_options: { ...existing, include_usage: true } } as P,
    hideUsageChunk: true,
  }
}

/** `true` for the extra usage chunk (`choices: []` with a `usage` object). */
export function isUsageChunk(chunk: unknown): boolean {
  return (
    isRec(chunk) && Array.isArray(chunk.choices) && chunk.choices.length === 0 && isRec(chunk.usage)
  )
}

/**
 * With `hideUsageChunk`, returns `undefined` for the usage chunk and strips `usage: null` from the
 * other chunks (a copy; the input is not modified); otherwise returns the chunk as is.
 */
export function filterOpenAIChunk<C>(chunk: C, hideUsageChunk: boolean): C | undefined {
  if (!hideUsageChunk) return chunk
  if (isUsageChunk(chunk)) return undefined
  if (isRec(chunk) && 'usage' in chunk && chunk.usage === null) {
    const { usage: _usage, ...rest } = chunk
    return rest as C
  }
  return chunk
}
