/**
 * @module scrub
 * What leaves the process for Sentry: request headers that carry credentials, cookies, request
 * bodies and GenAI prompts/completions are removed (bodies and GenAI content unless allowed), and
 * everything left goes through the redactor (secret shapes inside any string: exception messages,
 * breadcrumbs, URLs). Applied to error events, transactions, spans and breadcrumbs alike.
 */
import type { Redactor } from '@aikit/security'

/** Header names never sent (compared lower-case). */
export const SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-csrf-token',
  'anthropic-api-key',
  'openai-api-key',
  'x-goog-api-key',
  'x-amz-security-token',
]

const SENSITIVE_HEADER_SET = new Set(SENSITIVE_HEADERS)

/** Span attribute names holding a credential header (`http.request.header.authorization`…). */
const HEADER_ATTRIBUTE = /(?:^|\.)header\.([a-z0-9_-]+)/i
/** GenAI content attributes: prompts, messages, completions, tool arguments and results. */
const GEN_AI_CONTENT =
  /^gen_ai\.(?:prompt|completion|input|output|request\.messages|response\.text|system_instructions|tool\.call\.(?:arguments|result)|tool\.(?:input|output)|choice)/i
const BODY_ATTRIBUTE = /(?:^|\.)body(?:$|\.)/i

export interface ScrubPolicy {
  redact: Redactor
  allowRequestBodies: boolean
  allowGenAiContent: boolean
}

type Dict = Record<string, unknown>

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function withoutSensitiveHeaders(headers: unknown): unknown {
  if (!isDict(headers)) return headers
  const out: Dict = {}
  for (const [k, v] of Object.entries(headers)) {
    if (!SENSITIVE_HEADER_SET.has(k.toLowerCase())) out[k] = v
  }
  return out
}

/** Removes the attributes a span or event must never carry; returns a copy. */
export function scrubAttributes(attributes: unknown, policy: ScrubPolicy): unknown {
  if (!isDict(attributes)) return attributes
  const out: Dict = {}
  for (const [k, v] of Object.entries(attributes)) {
    const header = HEADER_ATTRIBUTE.exec(k)
    if (header && SENSITIVE_HEADER_SET.has(header[1]!.toLowerCase().replace(/_/g, '-'))) continue
    if (!policy.allowGenAiContent && GEN_AI_CONTENT.test(k)) continue
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

/** Scrubs a breadcrumb (HTTP breadcrumbs carry URLs; console breadcrumbs carry log text). */
export function scrubBreadcrumb<B>(breadcrumb: B, policy: ScrubPolicy): B {
  if (!isDict(breadcrumb)) return breadcrumb
  const b: Dict = { ...breadcrumb }
  if (isDict(b.data)) b.data = scrubAttributes(b.data, policy)
  return policy.redact(b) as B
}
