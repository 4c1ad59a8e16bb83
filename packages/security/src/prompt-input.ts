/**
 * @module prompt-input
 * Where `guard.middleware()` finds the LLM input in a JSON request body, by default: `messages`
 * (Chat Completions, Anthropic Messages), `input` (OpenAI Responses: a text, or a list mixing
 * messages with items such as `function_call_output`), `prompt` (a text). A `messages` or `input`
 * that is present but of no shape the guard can read is refused (400 `INVALID_REQUEST` naming the
 * field), never let through unchecked: the route would hand it to the model all the same.
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

/**
 * The LLM input of a parsed JSON body: `messages`, else `input`, else `prompt` when a text;
 * undefined when the body holds none of them (null counts as absent). Throws
 * `unreadableInputError` for a `messages` that is not a message list, or an `input` that is
 * neither a text nor a message list.
 */
export function extractPromptInput(body: unknown): string | PromptItem[] | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const b = body as Record<string, unknown>
  if (b.messages !== undefined && b.messages !== null) {
    if (isMessageList(b.messages)) return b.messages
    throw unreadableInputError('messages')
  }
  if (b.input !== undefined && b.input !== null) {
    if (typeof b.input === 'string' || isMessageList(b.input)) return b.input
    throw unreadableInputError('input')
  }
  if (typeof b.prompt === 'string') return b.prompt
  return undefined
}
