/**
 * @module prompt-messages
 * Reads and rewrites the texts of chat messages in the Anthropic and OpenAI shapes: `content` as a
 * string, or an array of parts whose `text` (and, for tool results, nested `content`) holds text.
 * Rewriting is copy-on-write: the caller's messages are never mutated.
 */

/** A chat message as both providers shape it (extra fields are kept as they are). */
export interface PromptMessage {
  role: string
  content?: unknown
  [key: string]: unknown
}

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
  return copy ?? part
}

/**
 * Applies `fn` to every text of the messages whose role is in `roles` (all roles when undefined);
 * returns a copy if anything changed, else the same array.
 */
export function mapMessageTexts<M extends PromptMessage>(
  messages: readonly M[],
  roles: ReadonlySet<string> | undefined,
  fn: (text: string) => string
): M[] {
  let copy: M[] | undefined
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) return
    if (roles !== undefined && !roles.has(m.role)) return
    const content = mapContent(m.content, fn, 0)
    if (content !== m.content) {
      copy ??= messages.slice()
      copy[i] = { ...m, content }
    }
  })
  return copy ?? (messages as M[])
}

/** The texts of the messages whose role is in `roles`, in order. */
export function messageTexts(
  messages: readonly PromptMessage[],
  roles: ReadonlySet<string> | undefined
): string[] {
  const texts: string[] = []
  mapMessageTexts(messages, roles, (t) => {
    texts.push(t)
    return t
  })
  return texts
}

/** True for an array of `{ role, content }` objects. */
export function isMessageList(value: unknown): value is PromptMessage[] {
  return (
    Array.isArray(value) &&
    value.every(
      (m) => typeof m === 'object' && m !== null && typeof (m as PromptMessage).role === 'string'
    )
  )
}
