/**
 * @module prompt-messages
 * Reads and rewrites the texts of chat messages in the Anthropic and OpenAI shapes: `content` as a
 * string, or an array of parts whose `text` (and, for tool results, nested `content`; for an
 * Anthropic plain-text `document`, `source.data`) holds text. OpenAI Responses `input` lists also
 * hold items without a `role` (`function_call`, `function_call_output`, `reasoning`, …): a tool's
 * result in such an item reads as a message of role `tool` (the `output` of a
 * `function_call_output`, the `results[].text` of a `file_search_call`, the `outputs[].logs` of a
 * `code_interpreter_call`); the rest is the model's own (calls, queries, code, reasoning) and holds
 * no text to check.
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
 * checked as a message of role `tool`; so are the `results[].text` of a `file_search_call` and
 * the `outputs[].logs` of a `code_interpreter_call`.
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

/** A hosted tool's call item and the field holding its results (a list, null until it ran). */
const HOSTED_TOOL_RESULTS: Readonly<Record<string, string>> = {
  file_search_call: 'results',
  code_interpreter_call: 'outputs',
}

/** The field of an item holding the text to check: a message's `content`, a tool's result. */
function textKey(item: PromptItem): string | undefined {
  if (typeof item.role === 'string') return 'content'
  if (item.output !== undefined) return 'output'
  const type = item.type
  if (typeof type !== 'string' || !Object.hasOwn(HOSTED_TOOL_RESULTS, type)) return undefined
  const key = HOSTED_TOOL_RESULTS[type] as string
  return Array.isArray(item[key]) ? key : undefined
}

/** The role an item reads as: its own, `tool` for a role-less item holding a tool's result. */
export function roleOf(item: PromptItem): string | undefined {
  if (typeof item.role === 'string') return item.role
  return textKey(item) !== undefined ? TOOL_OUTPUT_ROLE : undefined
}

/**
 * A `code_interpreter_call`'s `outputs`: the `logs` of its `logs` entries (images hold a URL).
 * A file search's results hold their chunk in `text`, which `mapContent` reads already.
 */
function mapLogs(outputs: unknown[], fn: (text: string) => string): unknown[] {
  let copy: unknown[] | undefined
  outputs.forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null) return
    const e = entry as Record<string, unknown>
    if (e.type !== 'logs' || typeof e.logs !== 'string') return
    const logs = fn(e.logs)
    if (logs !== e.logs) {
      copy ??= outputs.slice()
      copy[i] = { ...e, logs }
    }
  })
  return copy ?? outputs
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
    const key = textKey(m) as string
    const value = m[key]
    const each = (t: string): string => fn(t, i)
    const mapped =
      key === 'outputs' ? mapLogs(value as unknown[], each) : mapContent(value, each, 0)
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
