/**
 * @module prompt-input
 * Where `guard.middleware()` finds the LLM input in a JSON request body, by default: `messages`
 * (Chat Completions, Anthropic Messages), `input` (OpenAI Responses: a text, or a list mixing
 * messages with items such as `function_call_output`), `prompt` (a text). Every one of them that
 * is present is read, not only the first: the guard cannot know which one the route hands to the
 * model, and an attack would go in the one left unchecked. A `messages` or `input` that is present
 * but of no shape the guard can read is refused (400 `INVALID_REQUEST` naming the field), never
 * let through unchecked: the route would hand it to the model all the same.
 */
import { InvalidRequestError } from '@aikit/core'
import { isMessageList, type PromptItem } from './prompt-messages.js'

/**
 * 400 `INVALID_REQUEST` for an LLM input the guard cannot read; `details.field` names the body
 * field when it is known (the default extraction), never its value.
 */
export function unreadableInputError(field?: string): InvalidRequestError {
  const where = field === undefined ? 'The LLM input' : `\`${field}\``
  return new InvalidRequestError(
    `${where} must be a text or a list of { role, content } messages and { type } items`,
    field === undefined ? undefined : { details: { field } }
  )
}

/** The body fields the default extraction reads. */
export type PromptField = 'messages' | 'input' | 'prompt'

/** One LLM input found in a body, and the field it came from. */
export interface FoundInput {
  field: PromptField
  value: string | PromptItem[]
}

/**
 * The LLM inputs of a parsed JSON body, in this order: `messages` (a message list), `input` (a
 * text or a message list), `prompt` (when a text); null counts as absent, and a body holding none
 * gives `[]`. Throws `unreadableInputError` for a `messages` that is not a message list, or an
 * `input` that is neither a text nor a message list, whatever the other fields hold.
 */
export function extractPromptInputs(body: unknown): FoundInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return []
  const b = body as Record<string, unknown>
  const found: FoundInput[] = []
  if (b.messages !== undefined && b.messages !== null) {
    if (!isMessageList(b.messages)) throw unreadableInputError('messages')
    found.push({ field: 'messages', value: b.messages })
  }
  if (b.input !== undefined && b.input !== null) {
    if (typeof b.input !== 'string' && !isMessageList(b.input)) throw unreadableInputError('input')
    found.push({ field: 'input', value: b.input })
  }
  if (typeof b.prompt === 'string') found.push({ field: 'prompt', value: b.prompt })
  return found
}
