/**
 * @module prompt-messages
 * Reads and rewrites the texts of chat messages in the Anthropic and OpenAI shapes: `content` as a
 * string, or an array of parts whose `text` (and, for tool results, nested `content`; for an
 * Anthropic plain-text `document`, `source.data`) holds text. OpenAI Responses `input` lists also
 * hold items without a `role` (`function_call`, `function_call_output`, `reasoning`, …): the
 * `output` of such an item is a tool's result and reads as a message of role `tool`; the other
 * items are the model's own (calls, reasoning) and hold no text to check.
 * Rewriting is copy-on-write: the caller's messages are never mutated.
 */

/** A chat message as both providers shape it (extra fields are kept as they are). */
export interface PromptMessage {
  role: string
  content?: unknown
  [key: string]: unknown
}

/**
 * An item of an OpenAI Responses `input` list that is not a message: a `type` and no `role`
 * (`function_call`, `function_call_output`, `reasoning`, `item_reference`, …). Its `output`, when
 * present (`function_call_output`, `custom_tool_call_output`, `mcp_call`, …), is a tool's result,
 * checked as a message of role `tool`.
 */
export interface PromptInputItem {
  type: string
  role?: undefined
  output?: unknown
  [key: string]: unknown
}

/** One entry of a message list: a message, or a Responses item without a role. */
export type PromptItem = PromptMessage | PromptInputItem

/** The role a tool's `output` item reads as. */
const TOOL_OUTPUT_ROLE = 'tool'

const MAX_PART_DEPTH = 4

function mapContent(content: unknown, fn: (text: string) => string, depth: number): unknown {
  if (typeof content === 'string') return fn(content)
  if (!Array.isArray(content) || depth > MAX_PART_DEPTH) return content
  let copy: unknown[] | undefined
  content.forEach((part, i) => {
    const out = mapPart(part, fn, depth + 1)
    if (out !== part) {
      copy ??= content.slice()
      copy[i] = out
    }
  })
  return copy ?? content
}

function mapPart(part: unknown, fn: (text: string) => string, depth: number): unknown {
  if (typeof part === 'string') return fn(part)
  if (typeof part !== 'object' || part === null) return part
  const p = part as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  if (typeof p.text === 'string') {
    const text = fn(p.text)
    if (text !== p.text) copy = { ...p, text }
  }
  if (p.content !== undefined) {
    const content = mapContent(p.content, fn, depth)
    if (content !== p.content) copy = { ...(copy ?? p), content }
  }
  if (typeof p.source === 'object' && p.source !== null) {
    const source = mapSource(p.source as Record<string, unknown>, fn, depth)
    if (source !== p.source) copy = { ...(copy ?? p), source }
  }
  return copy ?? part
}

/** An Anthropic `document` source holding text: `{ type: 'text', data }` or `{ type: 'content' }`. */
function mapSource(
  source: Record<string, unknown>,
  fn: (text: string) => string,
  depth: number
): Record<string, unknown> {
  if (source.type === 'text' && typeof source.data === 'string') {
    const data = fn(source.data)
    return data === source.data ? source : { ...source, data }
  }
  if (source.type === 'content') {
    const content = mapContent(source.content, fn, depth)
    return content === source.content ? source : { ...source, content }
  }
  return source
}

/** The role an item reads as: its own, `tool` for a role-less item with an `output`, else none. */
function roleOf(item: PromptItem): string | undefined {
  if (typeof item.role === 'string') return item.role
  return item.output !== undefined ? TOOL_OUTPUT_ROLE : undefined
}

/**
 * Applies `fn` to every text of the items whose role (see `PromptItem`) is in `roles` (all roles
 * when undefined), in order; `fn` also gets the item's index (the texts of one message arrive
 * together). Returns a copy if anything changed, else the same array.
 */
export function mapMessageTexts<M extends PromptItem>(
  messages: readonly M[],
  roles: ReadonlySet<string> | undefined,
  fn: (text: string, item: number) => string
): M[] {
  let copy: M[] | undefined
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) return
    const role = roleOf(m)
    if (role === undefined || (roles !== undefined && !roles.has(role))) return
    const key = typeof m.role === 'string' ? 'content' : 'output'
    const value = m[key]
    const mapped = mapContent(value, (t) => fn(t, i), 0)
    if (mapped !== value) {
      copy ??= messages.slice()
      copy[i] = { ...m, [key]: mapped }
    }
  })
  return copy ?? (messages as M[])
}

/** The texts of the items whose role is in `roles`, in order. */
export function messageTexts(
  messages: readonly PromptItem[],
  roles: ReadonlySet<string> | undefined
): string[] {
  const texts: string[] = []
  mapMessageTexts(messages, roles, (t) => {
    texts.push(t)
    return t
  })
  return texts
}

/**
 * True for an array of chat messages (`{ role, content }`) and Responses items without a role
 * (`{ type, … }`, `role` absent, `type` not `message`). Any other entry (a non-string `role`,
 * neither field, not an object) is not understood: the list is refused as a whole.
 */
export function isMessageList(value: unknown): value is PromptItem[] {
  if (!Array.isArray(value)) return false
  for (const m of value) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return false
    const item = m as Record<string, unknown>
    if (typeof item.role === 'string') continue
    // A `message` needs its role; any other item type is the provider's to validate.
    if (item.role !== undefined || typeof item.type !== 'string' || item.type === 'message') {
      return false
    }
  }
  return true
}
