/**
 * @module prompt-input
 * Where `guard.middleware()` finds the LLM input in a JSON request body, by default: `messages`
 * (Chat Completions, Anthropic Messages), `input` (OpenAI Responses: a text, or a list mixing
 * messages with items such as `function_call_output`), `prompt` (a text; or an OpenAI Responses
 * stored prompt `{ id, version, variables }`, whose variables are read; or an OpenAI legacy
 * Completions list of texts, each a prompt of its own). Every one of them that is present is
 * read, not only the first: the guard cannot know which one the route hands to the
 * model, and an attack would go in the one left unchecked. A `messages` or `input` that is present
 * but of no shape the guard can read is refused (400 `INVALID_REQUEST` naming the field), never
 * let through unchecked: the route would hand it to the model all the same; so is a `system` list
 * of blocks the guard cannot read.
 * The system prompt, when the body holds it outside its messages (Anthropic `system`: a text or
 * text blocks; OpenAI Responses `instructions`: a text), is read as a message of role `system`, as
 * a Chat Completions body holds it: the `roles` option decides whether it is checked, and it
 * counts in the token budget either way.
 * A stored prompt's `variables` (each a text, or an `input_text` / `input_image` / `input_file`
 * part) are the user's text the provider puts into the template: each is read as a message of
 * role `user` holding that one part, and a `variables` of another shape is refused (400 naming
 * `prompt.variables`). The template itself, kept by the provider, is not in the body.
 * A legacy Completions `prompt` may be a list: of texts (a batch, one completion per text), or of
 * token ids (numbers, or lists of numbers). Each text of a list is read as a text of its own, as
 * a `prompt` text is (the model reads each in a completion of its own, never two together). Token
 * ids are refused (400 naming `prompt`): they encode any text (an attack too), and reading them
 * would take the model's tokenizer; a route that sends token ids decodes them in an `extract`.
 */
import { InvalidRequestError } from '@aikit/core'
import { isMessageList, type PromptItem } from './prompt-messages.js'

/**
 * 400 `INVALID_REQUEST` for an LLM input the guard cannot read; `details.field` names the body
 * field when it is known (the default extraction), never its value.
 */
export function unreadableInputError(
  field?: string,
  expected = 'a text or a list of { role, content } messages and { type } items'
): InvalidRequestError {
  const where = field === undefined ? 'The LLM input' : `\`${field}\``
  return new InvalidRequestError(
    `${where} must be ${expected}`,
    field === undefined ? undefined : { details: { field } }
  )
}

/** The body fields the default extraction reads. */
export type PromptField = 'messages' | 'input' | 'prompt' | 'system' | 'instructions'

/** One LLM input found in a body, and the field it came from. */
export interface FoundInput {
  field: PromptField
  /**
   * The field's value; a system prompt field as a one-message list (see `systemMessage`), a stored
   * prompt's variables as a list of `user` messages (see `variableMessages`), a text of a
   * `prompt` list on its own (see `index`).
   */
  value: string | PromptItem[]
  /** Where the text is in the field's list, for a text of a `prompt` list. */
  index?: number
}

/** The fields holding a system prompt, read as the `content` of one `system` message. */
const SYSTEM_FIELDS: ReadonlySet<PromptField> = new Set(['system', 'instructions'])

/** A system prompt field's value as the message list the guard checks. */
function systemMessage(content: string | unknown[]): PromptItem[] {
  return [{ role: 'system', content }]
}

/** A stored prompt's variables (see `storedPromptVariables`). */
type Variables = Record<string, unknown>

/**
 * The `variables` of a `prompt` object (OpenAI Responses' stored prompt `{ id, version,
 * variables }`): undefined when it has none to read, or throws `unreadableInputError` naming
 * `prompt.variables` for any value but an object of texts and parts (null values count as absent).
 */
function storedPromptVariables(prompt: Record<string, unknown>): Variables | undefined {
  const variables = prompt.variables
  if (variables === undefined || variables === null) return undefined
  const readable =
    typeof variables === 'object' &&
    !Array.isArray(variables) &&
    Object.values(variables).every(
      (v) => v === null || typeof v === 'string' || (typeof v === 'object' && !Array.isArray(v))
    )
  if (!readable)
    throw unreadableInputError('prompt.variables', 'an object of texts and { type } parts')
  return variables as Variables
}

/**
 * A stored prompt's variables as the message list the guard checks: one `user` message per
 * variable, in key order, holding the value as its one part. Each is a text of its own (the
 * template puts it where it will), so they are not glued to one another.
 */
function variableMessages(variables: Variables): PromptItem[] {
  return Object.values(variables).map((v) => ({ role: 'user', content: [v] }))
}

/**
 * The value to write back into `field` for its checked (and maybe redacted) form, `original`
 * being the field's value in the body: a system prompt field gets its message's `content` back,
 * in the shape it came in; a stored `prompt` a copy with each variable's part back in place.
 */
export function fieldValue(
  field: PromptField,
  checked: string | PromptItem[],
  original: unknown,
  index?: number
): unknown {
  if (index !== undefined && Array.isArray(original)) {
    const list = original.slice()
    list[index] = checked
    return list
  }
  if (typeof checked === 'string') return checked
  if (SYSTEM_FIELDS.has(field)) return (checked[0] as { content?: unknown } | undefined)?.content
  if (field !== 'prompt') return checked
  const prompt = original as Record<string, unknown>
  const keys = Object.keys(prompt.variables as Variables)
  // `fromEntries` defines each key as its own property (a `__proto__` variable stays data).
  const variables = Object.fromEntries(
    keys.map((key, i) => [key, (checked[i]?.content as unknown[] | undefined)?.[0]])
  )
  return { ...prompt, variables }
}

/**
 * Whether an input of `field` is a message list of the body (not a system prompt field, nor a
 * stored prompt's variables).
 */
export function isMessageField(field: PromptField | undefined): boolean {
  return field === undefined || (!SYSTEM_FIELDS.has(field) && field !== 'prompt')
}

/**
 * The LLM inputs of a parsed JSON body, in this order: `messages` (a message list), `input` (a
 * text or a message list), `prompt` (when a text; when a list of texts, each on its own; when an
 * object with `variables`, these as `user` messages, see `variableMessages`), `system` (when a
 * text or a list of blocks) and `instructions` (when a text), these two as a one-message list of
 * role `system`; null counts as
 * absent, and a body holding none gives `[]`. Throws `unreadableInputError` for a `messages` that
 * is not a message list, an `input` that is neither a text nor a message list, a `prompt` list
 * holding anything but texts (token ids), a `prompt` object whose `variables` is not an object
 * of texts and parts, or a `system` list of blocks the guard cannot read (see `isMessageList`),
 * whatever the other fields hold.
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
  else if (Array.isArray(b.prompt)) {
    const prompts: unknown[] = b.prompt
    if (!prompts.every((p): p is string => typeof p === 'string')) {
      throw unreadableInputError('prompt', 'a text or a list of texts (token ids cannot be read)')
    }
    prompts.forEach((value, index) => {
      found.push({ field: 'prompt', value, index })
    })
  } else if (typeof b.prompt === 'object' && b.prompt !== null && !Array.isArray(b.prompt)) {
    const variables = storedPromptVariables(b.prompt as Record<string, unknown>)
    if (variables !== undefined) {
      const value = variableMessages(variables)
      // A part holding its text where the guard does not read it (a `text` that is no string).
      if (!isMessageList(value)) {
        throw unreadableInputError('prompt.variables', 'an object of texts and { type } parts')
      }
      found.push({ field: 'prompt', value })
    }
  }
  if (typeof b.system === 'string' || Array.isArray(b.system)) {
    const value = systemMessage(b.system)
    // Blocks nested in an array, or a block whose `text` is no string, would go unread.
    if (!isMessageList(value)) throw unreadableInputError('system', 'a text or a list of blocks')
    found.push({ field: 'system', value })
  }
  if (typeof b.instructions === 'string') {
    found.push({ field: 'instructions', value: systemMessage(b.instructions) })
  }
  return found
}
