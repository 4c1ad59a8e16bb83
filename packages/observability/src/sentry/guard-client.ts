/**
 * @module guard-client
 * Scrubbing attached to a Sentry client through its hooks, for when the app called `Sentry.init`
 * itself (so `initSentry` cannot set `beforeSend`/`beforeSendSpan`), plus a last check on every
 * envelope. With @sentry/node v11 streamed spans skip event processors entirely: they are cleaned
 * in the client's `processSpan` hook, and every envelope (events, transactions, span batches, logs)
 * is cleaned again in `beforeEnvelope`, just before the transport serialises it.
 */
import {
  type ScrubPolicy,
  SENSITIVE_HEADERS,
  scrubBreadcrumb,
  scrubEvent,
  scrubSpan,
} from './scrub.js'

type Dict = Record<string, unknown>
type Callback = (...args: never[]) => void

/** The parts of a Sentry client (v10 or v11) used here; each may be missing on older versions. */
export interface HookableClient {
  on?: (hook: string, callback: Callback) => unknown
  getDataCollectionOptions?: () => unknown
}

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Makes `target` hold exactly `source`'s own properties (hooks must mutate what they are given).
 * A hook's error reaches the app (Sentry's `client.emit` does not catch it: `addBreadcrumb` would
 * throw), so an object that cannot be rewritten (frozen by the app's own `beforeBreadcrumb`) is
 * left as it is: the envelope check scrubs it again before anything is sent.
 */
function replaceContents(target: Dict, source: Dict): void {
  if (!Object.isExtensible(target)) return
  try {
    for (const key of Object.keys(target)) if (!(key in source)) delete target[key]
    Object.assign(target, source)
  } catch {
    // A read-only or non-configurable property: see above.
  }
}

/**
 * The client's resolved data-collection settings, locked down in place. Every integration of
 * @sentry/node v11 (and late v10) reads them through `client.getDataCollectionOptions()` when it
 * records, so this applies to a client that was initialised with the defaults (collect everything).
 */
export function lockDataCollection(client: HookableClient, policy: ScrubPolicy): void {
  const options = client.getDataCollectionOptions?.()
  if (!isDict(options)) return
  Object.assign(options, {
    userInfo: false,
    cookies: false,
    httpHeaders: {
      request: { deny: [...SENSITIVE_HEADERS] },
      response: { deny: ['set-cookie'] },
    },
    httpBodies: policy.allowRequestBodies ? ['incomingRequest'] : [],
    genAI: { inputs: policy.allowGenAiContent, outputs: policy.allowGenAiContent },
    mcp: { inputs: policy.allowGenAiContent, outputs: policy.allowGenAiContent },
    databaseQueryData: false,
    queues: false,
    stackFrameVariables: false,
  })
}

const EVENT_ITEMS = new Set(['event', 'transaction', 'feedback'])

/** One envelope item's payload, scrubbed (attachments and other non-objects pass unchanged). */
function scrubPayload(type: unknown, payload: unknown, policy: ScrubPolicy): unknown {
  if (!isDict(payload)) return payload
  if (EVENT_ITEMS.has(String(type))) return scrubEvent(payload, policy)
  if (Array.isArray(payload.items)) {
    // Streamed span batches, logs and metrics: `{ items: [{ attributes, … }] }`.
    const items = payload.items.map((item: unknown) =>
      isDict(item) ? scrubSpan(item, policy) : item
    )
    return policy.redact({ ...payload, items })
  }
  if (type === 'span') return scrubSpan(payload, policy)
  return policy.redact(payload)
}

/** Scrubs an envelope in place: its headers (the trace context names the root span) and items. */
export function scrubEnvelope(envelope: unknown, policy: ScrubPolicy): void {
  if (!Array.isArray(envelope)) return
  const [headers, items] = envelope as [unknown, unknown]
  if (isDict(headers)) replaceContents(headers, policy.redact(headers) as Dict)
  if (!Array.isArray(items)) return
  for (const item of items) {
    if (!Array.isArray(item) || item.length < 2) continue
    const itemHeader = item[0] as { type?: unknown } | undefined
    item[1] = scrubPayload(itemHeader?.type, item[1], policy)
  }
}

/**
 * Attaches the scrubbing to an already initialised client: streamed spans (`processSpan`, before
 * the app's own `beforeSendSpan`), breadcrumbs as they are added, and every envelope. Error events
 * and transactions also go through the global event processor `initSentry` adds (for the tags).
 */
export function guardClient(client: HookableClient, policy: ScrubPolicy): void {
  lockDataCollection(client, policy)
  if (typeof client.on !== 'function') return
  const on = client.on.bind(client) as (hook: string, callback: (value: unknown) => void) => unknown
  on('processSpan', (span) => {
    if (isDict(span)) replaceContents(span, scrubSpan(span, policy))
  })
  on('beforeAddBreadcrumb', (breadcrumb) => {
    if (isDict(breadcrumb)) replaceContents(breadcrumb, scrubBreadcrumb(breadcrumb, policy) as Dict)
  })
  guardEnvelopes(client, policy)
}

/** The last check: every envelope scrubbed just before it is sent. */
export function guardEnvelopes(client: HookableClient, policy: ScrubPolicy): void {
  if (typeof client.on !== 'function') return
  const on = client.on.bind(client) as (hook: string, callback: (value: unknown) => void) => unknown
  on('beforeEnvelope', (envelope) => scrubEnvelope(envelope, policy))
}
