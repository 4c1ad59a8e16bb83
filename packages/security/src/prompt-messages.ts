/**
 * @module prompt-messages
 * Reads and rewrites the texts of chat messages in the Anthropic and OpenAI shapes, and in the
 * Vercel AI SDK's UI message shape (`parts`, read as `content` is): `content` as a
 * string, or an array of parts whose `text` (and, for tool results, nested `content`; for an
 * Anthropic `document`, its `title`, `context` and a text source's `source.data` or a content
 * source's blocks; for a `search_result`, its `title`) holds text. An Anthropic server tool's
 * block in a message's content (`web_search_tool_result`, `web_fetch_tool_result`, the code
 * execution results, `mcp_tool_result`, …; see `SERVER_TOOL_TEXTS`) holds text from outside the
 * model whatever the message's role: it reads as role `tool`, and so does a client tool's
 * `tool_result` block (as an OpenAI Chat `tool` message and a Responses `function_call_output`
 * do); the rest of the message reads as the message's role. OpenAI Responses `input` lists also
 * hold items without a `role` (`function_call`, `function_call_output`, `reasoning`, an
 * `item_reference` with or without its `type`, …): a tool's result in such an item reads
 * as a message of role `tool` (see `ITEM_TEXTS`: the `output` of a `function_call_output`, the
 * `results[].text` of a `file_search_call`, the `stdout` and `stderr` of a `shell_call_output`,
 * the tool descriptions of an `mcp_list_tools`, …), a `reasoning` item's summary as a message of
 * role `assistant`; the rest is the model's own (calls, queries, code) and holds no text to check.
 * The Vercel AI SDK's tool results (a model message's `tool-result` part, a UI message's tool
 * part) read as role `tool` too, in a message of any role (see `AI_SDK_TOOL_RESULT`).
 * Anthropic `thinking` and `redacted_thinking` blocks are not read (see `mapPart`), nor is a
 * signed `compaction` block (see `isSignedCompaction`).
 * Rewriting is copy-on-write: the caller's messages are never mutated.
 */

/** A chat message as both providers shape it (extra fields are kept as they are). */
export interface PromptMessage {
  role: string
  content?: unknown
  /** The Vercel AI SDK's UI message parts (`{ type: 'text', text }`, …), read as `content` is. */
  parts?: unknown
  [key: string]: unknown
}

/**
 * An item of an OpenAI Responses `input` list that is not a message: a `type` and no `role`
 * (`function_call`, `function_call_output`, `reasoning`, `item_reference`, …). The text it holds
 * from outside the model (a tool's `output`, a file search's results, a shell's `stdout`, an MCP
 * server's tool descriptions, …) is checked as a message of role `tool`; a `reasoning` item's
 * summary and content as a message of role `assistant`.
 */
export interface PromptInputItem {
  type: string
  role?: undefined
  output?: unknown
  [key: string]: unknown
}

/**
 * An OpenAI Responses `item_reference` in the spelling the `openai` package also allows: `{ id }`,
 * its `type` left out or null (`ResponseInputItem.ItemReference`). Like `{ type: 'item_reference',
 * id }`, it names an item the provider stored; it holds no text.
 */
export interface PromptItemReference {
  id: string
  type?: null
  role?: undefined
  [key: string]: unknown
}

/** One entry of a message list: a message, or a Responses item without a role. */
export type PromptItem = PromptMessage | PromptInputItem | PromptItemReference

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

/**
 * Anthropic blocks whose `title` (and a `document`'s `context`) the model reads next to their
 * content: a document's title is as much the sender's text as its body.
 */
const TITLED_PARTS: Readonly<Record<string, readonly string[]>> = {
  document: ['title', 'context'],
  search_result: ['title'],
}

/**
 * The texts of one part: its `text`, a titled block's title (`TITLED_PARTS`), its nested
 * `content` and a document's `source`. An Anthropic `thinking` block (`thinking`) and a
 * `redacted_thinking` one (`data`, encrypted) are not read: each is the model's own output,
 * signed by the provider, which refuses one that was altered, so no one but the model can have
 * put text in it, and a redaction written back would only make the provider refuse the request.
 * The same goes for a Responses `reasoning` item's `encrypted_content`; its `summary`, plain text
 * under no signature, is read (as role `assistant`, see `ITEM_TEXTS`).
 */
function mapPart(part: unknown, fn: (text: string) => string, depth: number): unknown {
  if (typeof part === 'string') return fn(part)
  if (typeof part !== 'object' || part === null) return part
  const p = part as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  if (typeof p.text === 'string') {
    const text = fn(p.text)
    if (text !== p.text) copy = { ...p, text }
  }
  if (typeof p.type === 'string' && Object.hasOwn(TITLED_PARTS, p.type)) {
    const titled = mapFields(copy ?? p, TITLED_PARTS[p.type] as readonly string[], fn)
    if (titled !== (copy ?? p)) copy = titled as Record<string, unknown>
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

/** Reads and rewrites the texts of one field of an item (copy-on-write, as `mapContent`). */
type FieldMap = (value: unknown, fn: (text: string) => string) => unknown

/** Texts as a message's `content` holds them: a string, or parts with `text` (nested). */
const contentField: FieldMap = (value, fn) => mapContent(value, fn, 0)

/** The string fields `names` of one object. */
function mapFields(
  value: unknown,
  names: readonly string[],
  fn: (text: string) => string
): unknown {
  if (typeof value !== 'object' || value === null) return value
  const entry = value as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  for (const name of names) {
    const text = entry[name]
    if (typeof text !== 'string') continue
    const out = fn(text)
    if (out !== text) copy = { ...(copy ?? entry), [name]: out }
  }
  return copy ?? value
}

/** Each entry of a list, read with `map`. */
function listOf(map: FieldMap): FieldMap {
  return (value, fn) => {
    if (!Array.isArray(value)) return value
    let copy: unknown[] | undefined
    value.forEach((entry, i) => {
      const out = map(entry, fn)
      if (out !== entry) {
        copy ??= value.slice()
        copy[i] = out
      }
    })
    return copy ?? value
  }
}

/** The string fields `names` of one object (`stdout` and `stderr` of a code run, …). */
function fieldsOf(...names: string[]): FieldMap {
  return (value, fn) => mapFields(value, names, fn)
}

/** The string fields `names` of each object of a list (`stdout` of each shell output, …). */
function entryFields(...names: string[]): FieldMap {
  return listOf(fieldsOf(...names))
}

/** A string. */
const textField: FieldMap = (value, fn) => (typeof value === 'string' ? fn(value) : value)

/** The fields of one object, each read with its own map (copy-on-write). */
function mapObjectFields<T extends object>(
  value: T,
  fields: readonly (readonly [key: string, map: FieldMap])[],
  fn: (text: string) => string
): T {
  const entry = value as Record<string, unknown>
  let copy: Record<string, unknown> | undefined
  for (const [key, map] of fields) {
    const field = entry[key]
    if (field === undefined || field === null) continue
    const mapped = map(field, fn)
    if (mapped !== field) copy = { ...(copy ?? entry), [key]: mapped }
  }
  return (copy ?? value) as T
}

/** One object's fields, each read with its own map. */
function objectOf(fields: readonly (readonly [key: string, map: FieldMap])[]): FieldMap {
  return (value, fn) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? mapObjectFields(value, fields, fn)
      : value
}

/** An error a tool sent back: a string, or `{ message }` / `{ content }` (an MCP tool's error). */
const errorField: FieldMap = (value, fn) =>
  typeof value === 'string' ? fn(value) : mapPart(mapFields(value, ['message'], fn), fn, 0)

/** Where the texts of a Responses item without a role lie, and the role they read as. */
interface ItemTexts {
  role: string
  fields: readonly (readonly [key: string, map: FieldMap])[]
}

/**
 * Items of an OpenAI Responses `input` list (the `openai` package's `ResponseInputItem`) holding
 * text from outside the model: a tool's results, read as role `tool`; and a `reasoning` item,
 * the model's own text sent back, read as role `assistant`. Any other item with an `output` is a
 * tool's result in its `output` (`function_call_output`, `custom_tool_call_output`,
 * `local_shell_call_output`, `apply_patch_call_output`); the rest hold only the model's own calls.
 */
const ITEM_TEXTS: Readonly<Record<string, ItemTexts>> = {
  file_search_call: { role: TOOL_OUTPUT_ROLE, fields: [['results', contentField]] },
  code_interpreter_call: { role: TOOL_OUTPUT_ROLE, fields: [['outputs', entryFields('logs')]] },
  shell_call_output: {
    role: TOOL_OUTPUT_ROLE,
    fields: [['output', entryFields('stdout', 'stderr')]],
  },
  mcp_call: {
    role: TOOL_OUTPUT_ROLE,
    fields: [
      ['output', contentField],
      ['error', errorField],
    ],
  },
  // Tool descriptions are read by the model: a server can hide instructions in them.
  mcp_list_tools: {
    role: TOOL_OUTPUT_ROLE,
    fields: [
      ['tools', entryFields('description')],
      ['error', errorField],
    ],
  },
  tool_search_output: { role: TOOL_OUTPUT_ROLE, fields: [['tools', entryFields('description')]] },
  program_output: { role: TOOL_OUTPUT_ROLE, fields: [['result', contentField]] },
  // Its `output` is a screenshot; the checks it acknowledges carry text.
  computer_call_output: {
    role: TOOL_OUTPUT_ROLE,
    fields: [['acknowledged_safety_checks', entryFields('message')]],
  },
  reasoning: {
    role: 'assistant',
    fields: [
      ['summary', contentField],
      ['content', contentField],
    ],
  },
}
const TOOL_OUTPUT: ItemTexts = { role: TOOL_OUTPUT_ROLE, fields: [['output', contentField]] }

/**
 * Most JSON values one tool output of the AI SDK may hold for the guard to read them all (see
 * `jsonField`); a bigger or deeper one is not understood, and its message list is refused (see
 * `isMessageList`), as a part the guard cannot read is. The body reader's own default limit on
 * JSON members is 10,000 too.
 */
const MAX_JSON_VALUES = 10_000
const MAX_JSON_DEPTH = 32

/**
 * The strings of a JSON value (a tool's result as the AI SDK keeps it), at any depth, each read
 * with `fn` (copy-on-write), object keys included: the provider gets the value as JSON text, keys
 * and all, so a tool returning `{ "Ignore all previous instructions…": 1 }` is an injection like
 * any string. A key a `redact` rule rewrites is renamed in the copy (keeping the key order).
 * Bounded (`MAX_JSON_VALUES`, `MAX_JSON_DEPTH`), so a shared or cyclic object passed to
 * `checkInput` in code cannot make it loop: past a bound the rest is left as is (and
 * `isReadableJson` says so first).
 */
const jsonField: FieldMap = (value, fn) => mapJson(value, fn, 0, { left: MAX_JSON_VALUES })

function mapJson(
  value: unknown,
  fn: (text: string) => string,
  depth: number,
  budget: { left: number }
): unknown {
  if (budget.left-- <= 0) return value
  if (typeof value === 'string') return fn(value)
  if (typeof value !== 'object' || value === null || depth >= MAX_JSON_DEPTH) return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const out = mapJson(value[i], fn, depth + 1, budget)
      if (out !== value[i]) {
        copy ??= value.slice()
        copy[i] = out
      }
    }
    return copy ?? value
  }
  const entry = value as Record<string, unknown>
  const keys = Object.keys(entry)
  // Built only once a key or a value changes: the entries before it are taken as they are.
  let outKeys: string[] | undefined
  let outValues: unknown[] | undefined
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    const newKey = fn(key)
    const out = mapJson(entry[key], fn, depth + 1, budget)
    if (outKeys === undefined && (newKey !== key || out !== entry[key])) {
      outKeys = keys.slice(0, i)
      outValues = outKeys.map((k) => entry[k])
    }
    if (outKeys !== undefined) {
      outKeys.push(newKey)
      ;(outValues as unknown[]).push(out)
    }
  }
  if (outKeys === undefined) return value
  const copy: Record<string, unknown> = {}
  for (let i = 0; i < outKeys.length; i++) {
    // defineProperty: a key `__proto__` stays an own field, as JSON.parse made it.
    Object.defineProperty(copy, outKeys[i] as string, {
      value: (outValues as unknown[])[i],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return copy
}

/** Whether `jsonField` reads every string of `value` (within its bounds). */
function isReadableJson(value: unknown): boolean {
  const budget = { left: MAX_JSON_VALUES }
  const within = (v: unknown, depth: number): boolean => {
    if (budget.left-- <= 0) return false
    if (typeof v !== 'object' || v === null) return true
    if (depth >= MAX_JSON_DEPTH) return false
    const children = Array.isArray(v) ? v : Object.values(v)
    return children.every((child) => within(child, depth + 1))
  }
  return within(value, 0)
}

/**
 * The `output` of an AI SDK model message's `tool-result` part (v5 and later): `{ type: 'text' |
 * 'error-text', value }`, `{ type: 'json' | 'error-json', value }` (the provider gets it as JSON
 * text), `{ type: 'content', value: [{ type: 'text', text }, { type: 'media', … }] }` (the text
 * parts), `{ type: 'execution-denied', reason? }`. Read by its type only when it has exactly that
 * shape (the typed field and `providerOptions`, the provider's own settings); anything else is
 * read whole as JSON: a typed field of another kind (`value` an object under `type: 'text'`) or
 * a field beside it would otherwise pass unread.
 */
const toolOutputField: FieldMap = (value, fn) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return jsonField(value, fn)
  }
  const output = value as Record<string, unknown>
  const typed = typedToolOutput(output)
  return typed === undefined ? jsonField(value, fn) : mapObjectFields(output, [typed], fn)
}

/** The one field of a typed tool output and its reader, if `output` has exactly that shape. */
function typedToolOutput(
  output: Record<string, unknown>
): readonly [key: string, map: FieldMap] | undefined {
  let field: readonly [key: string, map: FieldMap]
  let value: unknown
  switch (output.type) {
    case 'text':
    case 'error-text':
      field = ['value', textField]
      value = output.value
      if (typeof value !== 'string') return undefined
      break
    case 'json':
    case 'error-json':
      field = ['value', jsonField]
      value = output.value
      break
    case 'content':
      field = ['value', contentField]
      value = output.value
      if (!Array.isArray(value)) return undefined
      break
    case 'execution-denied':
      field = ['reason', textField]
      value = output.reason
      if (value !== undefined && typeof value !== 'string') return undefined
      break
    default:
      return undefined
  }
  for (const key of Object.keys(output)) {
    if (key !== 'type' && key !== field[0] && key !== 'providerOptions') return undefined
  }
  return field
}

/**
 * The Vercel AI SDK's tool results, read as role `tool` in a message of any role: a model
 * message's `tool-result` part (`output`, v5 and later; `result` and `experimental_content`, v4),
 * a UI message's tool part (`tool-<name>` or `dynamic-tool`, which `useChat` posts back with the
 * tool's `output` or `errorText` in an assistant message) and a v4 UI `tool-invocation` part
 * (`toolInvocation.result`). A `tool-call` part is the model's own call: its input is not read.
 * A UI tool part's `output` is the tool's own return value, sent to the provider as JSON (the
 * client posts it, so it may hold anything): read whole, whatever its `type` field says.
 */
const AI_SDK_TOOL_RESULT: ItemTexts['fields'] = [
  ['output', toolOutputField],
  ['result', jsonField],
  ['experimental_content', contentField],
  ['errorText', textField],
]
const AI_SDK_UI_TOOL: ItemTexts['fields'] = [
  ['output', jsonField],
  ['errorText', textField],
]
const AI_SDK_TOOL_INVOCATION: ItemTexts['fields'] = [
  ['toolInvocation', objectOf([['result', jsonField]])],
]

/**
 * Whether `part` is an AI SDK model message's `tool-call` part, the model calling a tool (its
 * input is the model's own). A UI tool part of a tool named `call` has the same type, and a
 * `state`.
 */
export function isAiSdkCallPart(part: unknown): boolean {
  if (typeof part !== 'object' || part === null) return false
  const p = part as { type?: unknown; state?: unknown }
  return p.type === 'tool-call' && typeof p.state !== 'string'
}

/** Where an AI SDK tool part's texts lie, if `part` is one (see `AI_SDK_TOOL_RESULT`). */
function aiSdkToolTexts(part: unknown): ItemTexts['fields'] | undefined {
  if (typeof part !== 'object' || part === null) return undefined
  const type = (part as { type?: unknown }).type
  if (typeof type !== 'string') return undefined
  if (type === 'tool-invocation') return AI_SDK_TOOL_INVOCATION
  if (type === 'tool-result') return AI_SDK_TOOL_RESULT
  if (type === 'dynamic-tool') return AI_SDK_UI_TOOL
  return type.startsWith('tool-') && !isAiSdkCallPart(part) ? AI_SDK_UI_TOOL : undefined
}

/**
 * Whether an AI SDK tool part holds the model's call and its result together (a UI message's
 * `tool-<name>`, `dynamic-tool` or `tool-invocation` part), unlike a model message's
 * `tool-result` part, which answers a call made in an earlier message.
 */
function isAiSdkCallWithResult(part: unknown): boolean {
  return aiSdkToolTexts(part) !== undefined && (part as { type: string }).type !== 'tool-result'
}

/** Whether every text of an AI SDK tool part is read (see `isReadableJson`). */
function isReadableAiSdkTool(part: object): boolean {
  const p = part as Record<string, unknown>
  const invocation = p.toolInvocation as Record<string, unknown> | null | undefined
  return (
    isReadableJson(p.output) &&
    isReadableJson(p.result) &&
    isReadableJson(invocation?.result) &&
    (p.experimental_content === undefined ||
      p.experimental_content === null ||
      isReadableContent(p.experimental_content, 1)) &&
    (p.errorText === undefined || p.errorText === null || typeof p.errorText === 'string')
  )
}

/**
 * Anthropic content blocks holding text a server tool brought in from outside the model (the
 * `@anthropic-ai/sdk` package's `ContentBlockParam` and `BetaContentBlockParam`), read as role
 * `tool` in a message of any role: sent back in an assistant turn, they are still a web page, a
 * program's output or an MCP server's answer, the usual carriers of indirect injection.
 */
const SERVER_TOOL_TEXTS: Readonly<Record<string, ItemTexts['fields']>> = {
  // Each result's `title`; its page text is `encrypted_content`, which only the provider reads.
  web_search_tool_result: [['content', entryFields('title')]],
  // A `web_fetch_result`'s `content` is a `document` block (title, context, text source).
  web_fetch_tool_result: [['content', objectOf([['content', (v, fn) => mapPart(v, fn, 1)]])]],
  // What the code printed (an `encrypted_code_execution_result` has only `stderr` in the clear);
  // the files it made are ids.
  code_execution_tool_result: [['content', fieldsOf('stdout', 'stderr')]],
  bash_code_execution_tool_result: [['content', fieldsOf('stdout', 'stderr')]],
  // A viewed file's `content`, the `lines` a replacement shows, an error's `error_message`.
  text_editor_code_execution_tool_result: [
    [
      'content',
      objectOf([
        ['content', textField],
        ['lines', listOf(textField)],
        ['error_message', textField],
      ]),
    ],
  ],
  // The tools found are names (`tool_references`); an error has a message.
  tool_search_tool_result: [['content', fieldsOf('error_message')]],
  // Beta (MCP connector): a tool's answer, and the tool descriptions a server listed (tool
  // poisoning, as in a Responses `mcp_list_tools`).
  mcp_tool_result: [['content', contentField]],
  mcp_tool_listing: [['tools', entryFields('description')]],
  // Beta: the advisor model's answer.
  advisor_tool_result: [['content', fieldsOf('text')]],
}

/** Where a server tool block's texts lie, if `part` is one (see `SERVER_TOOL_TEXTS`). */
function serverToolTexts(part: unknown): ItemTexts['fields'] | undefined {
  if (typeof part !== 'object' || part === null) return undefined
  const type = (part as { type?: unknown }).type
  return typeof type === 'string' && Object.hasOwn(SERVER_TOOL_TEXTS, type)
    ? SERVER_TOOL_TEXTS[type]
    : undefined
}

/**
 * Whether a message holds a tool's call and its results together: a server tool block (see
 * `SERVER_TOOL_TEXTS`) in its `content`, or an AI SDK UI tool part in its `parts` or `content`
 * (see `isAiSdkCallWithResult`).
 */
export function holdsServerToolTexts(item: PromptItem): boolean {
  for (const key of MESSAGE_TEXT_FIELDS) {
    const value = item[key]
    if (
      Array.isArray(value) &&
      value.some((part) => serverToolTexts(part) !== undefined || isAiSdkCallWithResult(part))
    ) {
      return true
    }
  }
  return false
}

/**
 * Whether a block is a signed Anthropic `compaction` block: the provider's model's summary of the
 * turns it replaces, sent back as it came. It is not read, as a `thinking` block is not: the
 * provider refuses one whose summary was altered, so no one but the model wrote it, and a
 * redaction written back would only make the provider refuse the request (a summary recounting
 * an attack the model refused would block every later request of the conversation). An unsigned
 * one is plain text anyone may have written: read as any block, in the message's role (in an
 * assistant turn, where the provider puts it, checked when `roles` holds `assistant`).
 */
function isSignedCompaction(part: object): boolean {
  const { type, signature } = part as { type?: unknown; signature?: unknown }
  return type === 'compaction' && typeof signature === 'string' && signature !== ''
}

/** How one block of a message's content is read: the role it reads as, and its texts. */
interface BlockReading {
  role: string
  map: (fn: (text: string) => string) => unknown
}

/**
 * How a block of a message of role `role` is read (undefined: not read): a server tool's block
 * (`SERVER_TOOL_TEXTS`) and a client tool's `tool_result` as role `tool`, in a message of any
 * role (a tool's output is text from outside the model wherever it sits, as in an OpenAI Chat
 * `tool` message or a Responses `function_call_output`); a signed `compaction` block not at all
 * (see `isSignedCompaction`); any other as the message's role.
 */
function blockReading(part: unknown, role: string): BlockReading | undefined {
  const server = serverToolTexts(part)
  if (server !== undefined) {
    return { role: TOOL_OUTPUT_ROLE, map: (fn) => mapObjectFields(part as object, server, fn) }
  }
  const aiSdkTool = aiSdkToolTexts(part)
  if (aiSdkTool !== undefined) {
    return { role: TOOL_OUTPUT_ROLE, map: (fn) => mapObjectFields(part as object, aiSdkTool, fn) }
  }
  if (typeof part === 'object' && part !== null) {
    if ((part as { type?: unknown }).type === 'tool_result') {
      return { role: TOOL_OUTPUT_ROLE, map: (fn) => mapPart(part, fn, 1) }
    }
    // The model's call: its input is the model's own.
    if (isSignedCompaction(part) || isAiSdkCallPart(part)) return undefined
  }
  return { role, map: (fn) => mapPart(part, fn, 1) }
}

/**
 * A message's `content`, each block read as `blockReading` says when `reads` takes its role (a
 * text content as the message's role `role`), copy-on-write.
 */
function mapMessageContent(
  content: unknown,
  fn: (text: string) => string,
  role: string,
  reads: (role: string) => boolean
): unknown {
  if (!Array.isArray(content)) return reads(role) ? mapContent(content, fn, 0) : content
  let copy: unknown[] | undefined
  content.forEach((part, i) => {
    const reading = blockReading(part, role)
    if (reading === undefined || !reads(reading.role)) return
    const out = reading.map(fn)
    if (out !== part) {
      copy ??= content.slice()
      copy[i] = out
    }
  })
  return copy ?? content
}

/** Where a role-less item's texts lie, if it holds any. */
function itemTexts(item: PromptItem): ItemTexts | undefined {
  const type = item.type
  if (typeof type === 'string' && Object.hasOwn(ITEM_TEXTS, type)) return ITEM_TEXTS[type]
  return item.output !== undefined ? TOOL_OUTPUT : undefined
}

/**
 * The fields of a message holding its texts: `content` (OpenAI, Anthropic), and `parts` (the
 * Vercel AI SDK's UI message, `{ id, role, parts: [{ type: 'text', text }, …] }`).
 */
const MESSAGE_TEXT_FIELDS = ['content', 'parts'] as const

/**
 * Applies `fn` to every text of the items whose role (see `PromptItem`; a tool's block inside a
 * message has role `tool`, see `blockReading`) is in `roles` (all roles when undefined), in
 * order; `fn` also gets the item's index (the texts of one message arrive together). Returns a
 * copy if anything changed, else the same array.
 */
export function mapMessageTexts<M extends PromptItem>(
  messages: readonly M[],
  roles: ReadonlySet<string> | undefined,
  fn: (text: string, item: number) => string
): M[] {
  const reads = (role: string): boolean => roles === undefined || roles.has(role)
  let copy: M[] | undefined
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) return
    const each = (t: string): string => fn(t, i)
    let item: M | undefined
    if (typeof m.role === 'string') {
      // `content` (the providers' shape) and `parts` (the AI SDK's UI message, which `useChat`
      // posts; its v4 form holds both): the blocks of either are read alike.
      for (const key of MESSAGE_TEXT_FIELDS) {
        const value = (item ?? m)[key]
        if (value === undefined || value === null) continue
        const mapped = mapMessageContent(value, each, m.role, reads)
        if (mapped !== value) item = { ...(item ?? m), [key]: mapped }
      }
    } else {
      const texts = itemTexts(m)
      if (texts === undefined || !reads(texts.role)) return
      const mapped = mapObjectFields(m, texts.fields, each)
      if (mapped !== m) item = mapped
    }
    if (item !== undefined) {
      copy ??= messages.slice()
      copy[i] = item
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
 * An `item_reference` without its `type` (see `PromptItemReference`): a string `id`, `type`
 * absent or null, and no other field. An entry holding anything more (a `content`, an `output`)
 * is not one: what the provider would make of it is unknown, so it is not understood.
 */
function isUntypedReference(item: Record<string, unknown>): boolean {
  if (typeof item.id !== 'string' || (item.type !== undefined && item.type !== null)) return false
  for (const key of Object.keys(item)) if (key !== 'id' && key !== 'type') return false
  return true
}

/**
 * Whether `mapContent` reads every text of a content: a string, or an array of parts each read by
 * `mapPart` (`depth` as there). Anything else (an object, a part that is itself an array, a
 * `text` that is not a string, a nesting deeper than `MAX_PART_DEPTH`) would be skipped unread.
 */
function isReadableContent(content: unknown, depth: number): boolean {
  if (typeof content === 'string') return true
  if (!Array.isArray(content) || depth > MAX_PART_DEPTH) return false
  return content.every((part) => isReadablePart(part, depth + 1))
}

/** Whether `mapPart` reads every text of a part (see `isReadableContent`). */
function isReadablePart(part: unknown, depth: number): boolean {
  if (typeof part !== 'object' || part === null) return true
  if (Array.isArray(part)) return false
  const p = part as Record<string, unknown>
  if (p.text !== undefined && p.text !== null && typeof p.text !== 'string') return false
  if (p.content !== undefined && p.content !== null && !isReadableContent(p.content, depth)) {
    return false
  }
  const source = p.source as Record<string, unknown> | null | undefined
  if (typeof source === 'object' && source !== null) {
    if (source.type === 'text' && typeof source.data !== 'string') return false
    if (source.type === 'content' && !isReadableContent(source.content, depth)) return false
  }
  return true
}

/**
 * Whether the guard reads every text of a message's `content` or `parts`: absent, a string, or
 * an array of blocks each readable (`isReadablePart`; a server tool's block is read by its own
 * fields, see `SERVER_TOOL_TEXTS`, and a signed `compaction` block is not read).
 */
function isReadableMessageField(value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'string') return true
  if (!Array.isArray(value)) return false
  return value.every((part) => {
    if (serverToolTexts(part) !== undefined) return true
    if (aiSdkToolTexts(part) !== undefined) return isReadableAiSdkTool(part as object)
    return (
      (typeof part === 'object' &&
        part !== null &&
        (isSignedCompaction(part) || isAiSdkCallPart(part))) ||
      isReadablePart(part, 1)
    )
  })
}

/**
 * True for an array of chat messages (`{ role, content }`, or the AI SDK's `{ role, parts }`),
 * Responses items without a role (`{ type, … }`, `role` absent, `type` not `message`) and item
 * references without a type (`{ id }`, see `isUntypedReference`). Any other entry (a non-string
 * `role`, neither field, not an object) is not understood: the list is refused as a whole. So is a
 * message whose `content` or `parts` holds text where the guard does not read it (a single part
 * object, parts nested in an array, a part whose `text` is not a string, see
 * `isReadableMessageField`): the provider or the AI SDK may read it all the same.
 */
export function isMessageList(value: unknown): value is PromptItem[] {
  if (!Array.isArray(value)) return false
  for (const m of value) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return false
    const item = m as Record<string, unknown>
    if (typeof item.role === 'string') {
      if (!MESSAGE_TEXT_FIELDS.every((key) => isReadableMessageField(item[key]))) return false
      continue
    }
    if (item.role === undefined && isUntypedReference(item)) continue
    // A `message` needs its role; any other item type is the provider's to validate.
    if (item.role !== undefined || typeof item.type !== 'string' || item.type === 'message') {
      return false
    }
  }
  return true
}
