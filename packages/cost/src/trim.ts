/**
 * @module trim
 * `trimMessages`: fit a conversation into a token budget by dropping the oldest turns whole.
 *
 * A turn starts at a user message that carries the user's own words and runs to the next such
 * message: the assistant's answer, its tool calls and their results belong to it. A user message
 * holding any Anthropic `tool_result` block continues the turn, even when text follows the results
 * (the API allows `[tool_result…, text]`): it answers the turn's `tool_use`, and a result without
 * its call is rejected with a 400. An OpenAI `role: 'tool'` message (and any other non-user
 * message, e.g. a Responses `function_call_output` item) is never a user turn either, so it stays
 * with the assistant message holding its `tool_calls`. A tool call and its result are thus always
 * kept or dropped together. Messages before the first user turn form a turn of their own (dropped
 * first).
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'
import {
  countTokens,
  type EstimateOptions,
  estimateMessageTokens,
  type MessageLike,
} from './tokens.js'

/** Options of `trimMessages`. */
export interface TrimOptions extends EstimateOptions {
  /** Token budget for the whole input (positive integer). Required. */
  maxTokens: number
  /** Model whose tokenizer (or approximation) counts. Required. */
  model: string
}

/** The keys of `TrimOptions`: any other key is refused. */
const TRIM_OPTION_KEYS = [
  'maxTokens',
  'model',
  'system',
  'tools',
] as const satisfies readonly (keyof TrimOptions)[]

const isSystem = (m: MessageLike): boolean => m.role === 'system' || m.role === 'developer'

const isToolResult = (b: unknown): boolean =>
  typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'tool_result'

/** Whether `m` opens a turn: a user message that answers no tool call (see the module comment). */
function startsTurn(m: MessageLike): boolean {
  if (m.role !== 'user') return false
  return !Array.isArray(m.content) || !(m.content as unknown[]).some(isToolResult)
}

/**
 * Returns the messages that fit `maxTokens` (estimated as `estimateTokens` does): every system /
 * developer message and the latest turn are always kept; older turns are dropped oldest first, whole.
 * When the kept minimum alone is over budget it is returned anyway (check with `estimateTokens`).
 * The input array is never modified; the order of the kept messages is unchanged.
 */
export function trimMessages<M extends MessageLike>(
  messages: readonly M[],
  options: TrimOptions
): M[] {
  if (!Array.isArray(messages)) throw new InvalidOptionsError('messages', 'must be an array')
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError('options', 'must be an object { maxTokens, model }')
  }
  // A misspelt `system` or `tools` would leave them out of the count: the trimmed request then
  // exceeds `maxTokens`.
  rejectUnknownOptions(options, TRIM_OPTION_KEYS)
  const { tools } = options as { tools?: unknown }
  if (tools !== undefined && !Array.isArray(tools)) {
    throw new InvalidOptionsError('tools', 'must be an array of tool definitions')
  }
  const { maxTokens, model } = options
  if (!Number.isSafeInteger(maxTokens) || maxTokens <= 0) {
    throw new InvalidOptionsError(
      'maxTokens',
      `must be a positive integer; got ${String(maxTokens)}`
    )
  }
  if (typeof model !== 'string' || model.length === 0) {
    throw new InvalidOptionsError('model', 'must be a non-empty string')
  }
  // Turn index of every non-system message (-1 for system messages).
  const turnOf: number[] = []
  const turnTokens: number[] = []
  let turn = -1
  let fixed = countTokens([], model, options)
  for (const m of messages) {
    const tokens = estimateMessageTokens(m, model)
    if (isSystem(m)) {
      turnOf.push(-1)
      fixed += tokens
      continue
    }
    if (turn === -1 || startsTurn(m)) {
      turn++
      turnTokens.push(0)
    }
    turnOf.push(turn)
    turnTokens[turn] = (turnTokens[turn] ?? 0) + tokens
  }
  if (turn === -1) return [...messages]
  let total = fixed
  for (const t of turnTokens) total += t
  // Drop the oldest turns (never the last) while over budget.
  let firstKept = 0
  while (total > maxTokens && firstKept < turn) {
    total -= turnTokens[firstKept] ?? 0
    firstKept++
  }
  return messages.filter((_, i) => {
    const t = turnOf[i] ?? -1
    return t === -1 || t >= firstKept
  })
}
