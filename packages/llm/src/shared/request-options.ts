/**
 * @module request-options
 * The SDK's per-call request options (its `create`'s second argument) that change the answer:
 * headers (a per-user `x-api-key`, an `anthropic-beta` flag), query, a base URL, middleware, …
 * Two calls that differ in them are different requests: they may neither share a provider call
 * nor a cache entry. Their digest joins both keys; headers carry secrets, so only a SHA-256 of
 * them ever leaves this module.
 */
import { sha256Hex } from '@aikit/core/adapter'
import { stableStringify } from './cache-key.js'

/**
 * Options about how the request travels, not what it asks: the wrapper handles them per caller
 * (signal, timeout) or they only shape retries, tracing and logging.
 */
const TRANSPORT: ReadonlySet<string> = new Set([
  'signal',
  'timeout',
  'maxRetries',
  'idempotencyKey',
  'openTelemetry',
  // Set by the SDK from the params (`params.stream`), already part of the key.
  'stream',
])

/** SDK telemetry headers (`x-stainless-helper-method: stream`, …): the helpers add them. */
const TELEMETRY_HEADER = /^x-stainless-/

/** No request option changes the answer: the keys are the params' alone. */
export const NO_REQUEST_OPTIONS = ''

/**
 * A digest of the request options that change the answer: `NO_REQUEST_OPTIONS` when there are
 * none, `undefined` when they cannot be serialised stably (a function, a class instance): such a
 * call is neither coalesced nor cached.
 */
export function requestOptionsDigest(rest: Readonly<Record<string, unknown>>): string | undefined {
  let kept: Record<string, unknown> | undefined
  for (const name of Object.keys(rest)) {
    // `__span`, `__streamClass`, …: SDK internals its own helpers pass along for the same call.
    if (TRANSPORT.has(name) || name.startsWith('__')) continue
    const value = rest[name]
    // `null` is "none" for every request option (`query: null`, `headers: null`).
    if (value === undefined || value === null) continue
    const plain = name === 'headers' ? plainHeaders(value) : plainData(value) ? value : undefined
    if (plain === undefined) return undefined
    if (plain === null) continue
    kept ??= {}
    kept[name] = plain
  }
  return kept === undefined ? NO_REQUEST_OPTIONS : sha256Hex(stableStringify(kept))
}

/**
 * A digest of the client's own settings that go with every request it sends and change the answer
 * or who asks for it: its base URL (another endpoint may serve another model under the same name),
 * its credential (`apiKey`, `authToken`), `organization`, `project`, an Azure client's deployment
 * (`deploymentName`, which the SDK puts in the URL), and its default headers
 * (an `anthropic-beta` flag, a per-tenant key) and query (Azure's `api-version`). Read once, when
 * wrapping. Two clients that differ in them never share a cache entry, as two calls whose request
 * options differ do not. `NO_REQUEST_OPTIONS` for an object without any (a test double). A
 * credential given as a function or provider (a token refresher) is not read; default headers in
 * a form not understood give the client an identity of its own (never shared, never forged).
 */
export function clientDigest(client: unknown): string {
  if (typeof client !== 'object' || client === null) return NO_REQUEST_OPTIONS
  const c = client as Record<string, unknown>
  const settings = (c._options ?? {}) as Record<string, unknown>
  const kept: Record<string, unknown> = {}
  // `deploymentName`: an AzureOpenAI client's deployment, which its requests are sent to (in
  // their URL path) whatever the call's `model` says.
  for (const name of [
    'baseURL',
    'apiKey',
    'authToken',
    'organization',
    'project',
    'deploymentName',
  ]) {
    const value = c[name]
    if (typeof value === 'string' && value !== '') kept[name] = value
  }
  if (settings.defaultHeaders !== undefined && settings.defaultHeaders !== null) {
    const headers = plainHeaders(settings.defaultHeaders)
    if (headers === undefined) return sha256Hex(`${Math.random()}:${Date.now()}:${++unreadable}`)
    if (headers !== null) kept.defaultHeaders = headers
  }
  const query = settings.defaultQuery
  if (query !== undefined && query !== null) {
    if (!plainData(query)) return sha256Hex(`${Math.random()}:${Date.now()}:${++unreadable}`)
    kept.defaultQuery = query
  }
  return Object.keys(kept).length === 0 ? NO_REQUEST_OPTIONS : sha256Hex(stableStringify(kept))
}

/**
 * `clientDigest`'s `client` for calls to `endpoint` (an API's other route, `beta`), or itself for
 * the API's plain route: the two routes never share a key.
 */
export function withEndpoint(client: string, endpoint: string | undefined): string {
  return endpoint === undefined ? client : sha256Hex(`endpoint:${endpoint}\u0000${client}`)
}

/** Clients given an identity of their own (`clientDigest`). */
let unreadable = 0

/**
 * The digest of one call: the client's (`clientDigest`) with its request options'
 * (`requestOptionsDigest`); `undefined` when the options cannot be serialised stably.
 */
export function withClient(client: string, options: string | undefined): string | undefined {
  if (options === undefined) return undefined
  if (client === NO_REQUEST_OPTIONS) return options
  return options === NO_REQUEST_OPTIONS ? client : sha256Hex(`${client}\u0000${options}`)
}

/** JSON data only (what `stableStringify` serialises the same way every time). */
function plainData(value: unknown): boolean {
  if (value === null) return true
  const type = typeof value
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined') {
    return true
  }
  if (type !== 'object') return false
  if (Array.isArray(value)) return value.every(plainData)
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  return Object.values(value as Record<string, unknown>).every(plainData)
}

/** The brand of the SDKs' merged headers (both SDKs' `buildHeaders`; a registered symbol). */
const MERGED_HEADERS = Symbol.for('brand.privateNullableHeaders')

/**
 * The SDKs' merged headers: `{ [brand]: true, values: Headers, nulls: Set<name> }`, exactly (any
 * other shape, an SDK that changed it, is not understood: the call is then neither cached nor
 * shared, never keyed wrong).
 */
function isMergedHeaders(
  headers: object
): headers is { readonly values: Headers; readonly nulls: Set<unknown> } {
  const { values, nulls } = headers as { values?: unknown; nulls?: unknown }
  const names = Object.keys(headers)
  return (
    typeof Headers !== 'undefined' &&
    values instanceof Headers &&
    nulls instanceof Set &&
    names.length === 2 &&
    names.includes('values') &&
    names.includes('nulls')
  )
}

/**
 * Headers in every form the SDKs take (`Headers`, `[name, value][]`, a record), as one record of
 * lower-case names (HTTP names are case-insensitive) to their values in order. `null` (the SDK's
 * "remove this default header") is kept: it changes the request. `null` for nothing kept,
 * `undefined` for a form that is not understood.
 */
function plainHeaders(headers: unknown): Record<string, unknown[]> | null | undefined {
  const out: Record<string, unknown[]> = {}
  let any = false
  const add = (name: unknown, value: unknown): boolean => {
    if (typeof name !== 'string') return false
    if (value === undefined) return true
    if (!(value === null || plainData(value))) return false
    const lower = name.toLowerCase()
    if (TELEMETRY_HEADER.test(lower)) return true
    if (!Object.hasOwn(out, lower)) out[lower] = []
    ;(out[lower] as unknown[]).push(value)
    any = true
    return true
  }
  const fromHeaders = (h: Headers): boolean => {
    let ok = true
    h.forEach((value, name) => {
      ok = add(name, value) && ok
    })
    return ok
  }
  if (typeof Headers !== 'undefined' && headers instanceof Headers) {
    if (!fromHeaders(headers)) return undefined
  } else if (typeof headers === 'object' && headers !== null && MERGED_HEADERS in headers) {
    // The SDKs' own merged form (`buildHeaders`, which their helpers such as Anthropic's
    // `beta.messages.parse()` pass to `create`): the values, then the names set to `null`.
    if (!isMergedHeaders(headers) || !fromHeaders(headers.values)) return undefined
    for (const name of headers.nulls) if (!add(name, null)) return undefined
  } else if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length !== 2 || !add(pair[0], pair[1])) return undefined
    }
  } else if (typeof headers === 'object') {
    const proto = Object.getPrototypeOf(headers)
    if (proto !== Object.prototype && proto !== null) return undefined
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (!add(name, value)) return undefined
    }
  } else return undefined
  return any ? out : null
}
