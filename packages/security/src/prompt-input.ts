/**
 * @module prompt-input
 * Where `guard.middleware()` finds the LLM input in a JSON request body, by default: `messages`
 * (Chat Completions, Anthropic Messages), `input` (OpenAI Responses: a text, or a list mixing
 * messages with items such as `function_call_output`), `prompt` (a text). Every one of them that
 * is present is read, not only the first: the guard cannot know which one the route hands to the
 * model, and an attack would go in the one left unchecked. A `messages` or `input` that is present
 * but of no shape the guard can read is refused (400 `INVALID_REQUEST` naming the field), never
 * let through unchecked: the route would hand it to the model all the same.
 * The system prompt, when the body holds it outside its messages (Anthropic `system`: a text or
 * text blocks; OpenAI Responses `instructions`: a text), is read as a message of role `system`, as
 * a Chat Completions body holds it: the `roles` option decides whether it is checked, and it
 * counts in the token budget either way.
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
export type PromptField = 'messages' | 'input' | 'prompt' | 'system' | 'instructions'

/** One LLM input found in a body, and the field it came from. */
export interface FoundInput {
  field: PromptField
  /** The field's value; a system prompt field as a one-message list (see `systemMessage`). */
  value: string | PromptItem[]
}

/** The fields holding a system prompt, read as the `content` of one `system` message. */
const SYSTEM_FIELDS: ReadonlySet<PromptField> = new Set(['system', 'instructions'])

/** A system prompt field's value as the message list the guard checks. */
function systemMessage(content: string | unknown[]): PromptItem[] {
  return [{ role: 'system', content }]
}

/**
 * The value to write back into `field` for its checked (and maybe redacted) form: a system prompt
 * field gets its message's `content` back, in the shape it came in.
 */
export function fieldValue(field: PromptField, checked: string | PromptItem[]): unknown {
  if (!SYSTEM_FIELDS.has(field) || typeof checked === 'string') return checked
  return (checked[0] as { content?: unknown } | undefined)?.content
}

/** Whether an input of `field` is a message list of the body (not a system prompt field). */
export function isMessageField(field: PromptField | undefined): boolean {
  return field === undefined || !SYSTEM_FIELDS.has(field)
}

/**
 * The LLM inputs of a parsed JSON body, in this order: `messages` (a message list), `input` (a
 * text or a message list), `prompt` (when a text), `system` (when a text or a list of blocks) and
 * `instructions` (when a text), these two as a one-message list of role `system`; null counts as
 * absent, and a body holding none gives `[]`. Throws `unreadableInputError` for a `messages` that is not a message list, or an
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
  if (typeof b.system === 'string' || Array.isArray(b.system)) {
    found.push({ field: 'system', value: systemMessage(b.system) })
  }
  if (typeof b.instructions === 'string') {
    found.push({ field: 'instructions', value: systemMessage(b.instructions) })
  }
  return found
}
