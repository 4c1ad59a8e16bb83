/**
 * @module scrub
 * What leaves the process for Sentry: request headers that carry credentials, cookies, request
 * bodies and GenAI prompts/completions (`gen_ai.*` and the AI SDK's `ai.*`, see genai-content.ts)
 * are removed (bodies and GenAI content unless allowed), and everything left goes through the
 * redactor (secret shapes inside any string: exception messages, breadcrumbs, URLs, the source
 * lines Sentry attaches to stack frames). Applied to error events, transactions, spans and
 * breadcrumbs alike.
 */
import { isCredentialHeader, type Redactor, SENSITIVE_HEADERS } from '@aikit/security'
import { isGenAiContent } from './genai-content.js'

/**
 * Header names never sent (compared lower-case): `@aikit/security`'s list, the one its redactor
 * censors by key, so a header dropped here is also censored wherever else it is logged. Names
 * ending in `-auth`, `-token`, `-key`, … are dropped too (`isCredentialHeader`, the redactor's
 * rule for a key spelled as a header).
 */
export { SENSITIVE_HEADERS }

/**
 * Span attribute names holding a header (`http.request.header.authorization`, the AI SDK's
 * `ai.request.headers.authorization`): dropped when the header carries a credential.
 */
const HEADER_ATTRIBUTE = /(?:^|\.)headers?\.([a-z0-9_-]+)/i
const BODY_ATTRIBUTE = /(?:^|\.)body(?:$|\.)/i

/**
 * What happens to the source lines Sentry's contextLines integration attaches to stack frames
 * (`pre_context`, `context_line`, `post_context`): redacted like every other string, or removed.
 */
export type SourceContext = 'scrub' | 'drop'

export interface ScrubPolicy {
  redact: Redactor
  allowRequestBodies: boolean
  allowGenAiContent: boolean
  sourceContext: SourceContext
}

type Dict = Record<string, unknown>

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function withoutSensitiveHeaders(headers: unknown): unknown {
  if (!isDict(headers)) return headers
  const out: Dict = {}
  for (const [k, v] of Object.entries(headers)) {
    if (!isCredentialHeader(k)) out[k] = v
  }
  return out
}

/** Stack-frame fields holding lines of the app's source code. */
const SOURCE_CONTEXT_FIELDS = ['pre_context', 'context_line', 'post_context'] as const

function withoutFrameSourceContext(frame: unknown): unknown {
  if (!isDict(frame) || !SOURCE_CONTEXT_FIELDS.some((f) => f in frame)) return frame
  const out: Dict = { ...frame }
  for (const f of SOURCE_CONTEXT_FIELDS) delete out[f]
  return out
}

/** `exception` or `threads` (`{ values: [{ stacktrace: { frames } }] }`) without source lines. */
function withoutSourceContext(traces: unknown): unknown {
  if (!isDict(traces) || !Array.isArray(traces.values)) return traces
  const values = traces.values.map((value: unknown) => {
    if (!isDict(value) || !isDict(value.stacktrace) || !Array.isArray(value.stacktrace.frames)) {
      return value
    }
    const frames = value.stacktrace.frames.map(withoutFrameSourceContext)
    return { ...value, stacktrace: { ...value.stacktrace, frames } }
  })
  return { ...traces, values }
}

/** Removes the attributes a span or event must never carry; returns a copy. */
export function scrubAttributes(attributes: unknown, policy: ScrubPolicy): unknown {
  if (!isDict(attributes)) return attributes
  const out: Dict = {}
  for (const [k, v] of Object.entries(attributes)) {
    const header = HEADER_ATTRIBUTE.exec(k)
    if (header && isCredentialHeader(header[1]!)) continue
    if (!policy.allowGenAiContent && isGenAiContent(k)) continue
    if (!policy.allowRequestBodies && BODY_ATTRIBUTE.test(k)) continue
    out[k] = v
  }
  return policy.redact(out)
}

/** Scrubs an error or transaction event (a copy is returned; the SDK's object is not mutated). */
export function scrubEvent<E extends object>(event: E, policy: ScrubPolicy): E {
  const e: Dict = { ...(event as Dict) }
  if (isDict(e.request)) {
    const request: Dict = { ...e.request }
    delete request.cookies
    request.headers = withoutSensitiveHeaders(request.headers)
    if (!policy.allowRequestBodies) delete request.data
    e.request = request
  }
  if (isDict(e.contexts)) {
    const contexts: Dict = { ...e.contexts }
    if (isDict(contexts.trace) && isDict(contexts.trace.data)) {
      contexts.trace = { ...contexts.trace, data: scrubAttributes(contexts.trace.data, policy) }
    }
    if (isDict(contexts.response)) {
      contexts.response = {
        ...contexts.response,
        headers: withoutSensitiveHeaders(contexts.response.headers),
      }
    }
    e.contexts = contexts
  }
  if (Array.isArray(e.spans)) {
    e.spans = e.spans.map((span: unknown) =>
      isDict(span) && isDict(span.data)
        ? { ...span, data: scrubAttributes(span.data, policy) }
        : span
    )
  }
  if (Array.isArray(e.breadcrumbs)) {
    e.breadcrumbs = e.breadcrumbs.map((b: unknown) => scrubBreadcrumb(b, policy))
  }
  if (policy.sourceContext === 'drop') {
    if (e.exception !== undefined) e.exception = withoutSourceContext(e.exception)
    if (e.threads !== undefined) e.threads = withoutSourceContext(e.threads)
  }
  // The redactor walks the whole event, stack frames included: the source lines around each frame
  // (`pre_context`, `context_line`, `post_context`, where a hard-coded key can sit) and `vars`.
  // Do not narrow this to known fields.
  return policy.redact(e) as E
}

/** Scrubs a span: streamed (v11, `attributes`) or static (v10, `data`). */
export function scrubSpan<S extends { attributes?: unknown; data?: unknown }>(
  span: S,
  policy: ScrubPolicy
): S {
  const out: Dict = { ...span }
  if (span.attributes !== undefined) out.attributes = scrubAttributes(span.attributes, policy)
  if (span.data !== undefined) out.data = scrubAttributes(span.data, policy)
  return policy.redact(out) as S
}

/** Longest text one non-string console argument adds to a rebuilt breadcrumb message. */
const MAX_ARGUMENT_TEXT = 1024

/** A console argument as text, the way Sentry joins them (an object as JSON, bounded). */
function argumentText(value: unknown): string {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return String(value)
  }
  if (value instanceof Error) return value.message ? `${value.name}: ${value.message}` : value.name
  try {
    const text = JSON.stringify(value)
    if (typeof text === 'string') return text.slice(0, MAX_ARGUMENT_TEXT)
  } catch {
    // A cycle or a throwing toJSON: a placeholder.
  }
  return '[object]'
}

/**
 * Scrubs a breadcrumb (HTTP breadcrumbs carry URLs; console breadcrumbs carry log text). A console
 * breadcrumb holds its text twice, as `message` and as `data.arguments`, which redaction reads by
 * different rules (arguments `'password', pw`: the array censors the item after a credential
 * name; `'password:', pw`: the text censors `name: value`). The message is rebuilt
 * from the redacted arguments and redacted as text, and the arguments are dropped: one copy,
 * censored by both rules.
 */
export function scrubBreadcrumb<B>(breadcrumb: B, policy: ScrubPolicy): B {
  if (!isDict(breadcrumb)) return breadcrumb
  const b: Dict = { ...breadcrumb }
  if (isDict(b.data)) {
    const data = scrubAttributes(b.data, policy) as Dict
    if (Array.isArray(data.arguments)) {
      const args = policy.redact(data.arguments)
      b.message = Array.isArray(args) ? args.map(argumentText).join(' ') : String(args)
      const { arguments: _dropped, ...rest } = data
      b.data = rest
    } else {
      b.data = data
    }
  }
  return policy.redact(b) as B
}
