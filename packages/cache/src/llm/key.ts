/**
 * @module llm/key
 * `llmCacheKey`: a stable key over every request parameter that can change a model's answer.
 */
import { InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions, sha256Hex } from '@aikit/core/adapter'
import { CacheScopeRequiredError } from '../errors.js'
import { stableStringify } from './stable-stringify.js'

/**
 * Bumped whenever the key material changes, so old entries are never read by a new layout. 2:
 * `store` is kept (a v1 key left it out, so a `store: false` answer was read by `store: true`).
 */
export const LLM_KEY_VERSION = 2

/**
 * Request fields that never change the answer (transport, tracing, billing): left out of the key.
 * Everything else is kept, so a provider parameter added later changes the key by default (a miss,
 * never a wrong hit). Not `store`: an OpenAI Responses answer says whether it was stored, and only a
 * stored one can be continued (`previous_response_id`): a `store: false` answer replayed to a
 * `store: true` request had its follow-up refused (400, response not found).
 */
export const LLM_TRANSPORT_FIELDS: readonly string[] = Object.freeze([
  'stream',
  'stream_options',
  'metadata',
  'user',
  'safety_identifier',
  'prompt_cache_key',
  'service_tier',
  'timeout',
  'signal',
  'headers',
  'extra_headers',
  'extra_query',
  'idempotencyKey',
  'maxRetries',
])

const TRANSPORT = new Set(LLM_TRANSPORT_FIELDS)

/** Options of `llmCacheKey`. */
export interface LlmCacheKeyOptions {
  /**
   * Who may share the answer: a tenant, user or API-key id. Required: a missing or empty scope throws
   * `CacheScopeRequiredError`, unless it is the explicit string `'global'` (all callers share).
   */
  scope: string | undefined
  /** Provider name (e.g. `'anthropic'`, `'openai'`) so two providers never share an entry. Default `''`. */
  provider?: string
  /** Extra fields to leave out of the key, on top of `LLM_TRANSPORT_FIELDS`. Default `[]`. */
  exclude?: readonly string[]
}

/** The keys of `LlmCacheKeyOptions`: any other is refused. */
const LLM_CACHE_KEY_OPTION_KEYS = Object.keys({
  scope: true,
  provider: true,
  exclude: true,
} satisfies Record<keyof LlmCacheKeyOptions, true>)

/**
 * The cache key of an LLM request: `llm:v<version>:<sha256>` over the canonical JSON (sorted keys,
 * `undefined` dropped) of the scope, the provider and every output-changing parameter (model, system,
 * messages, tools, tool_choice, temperature, top_p, top_k, max_tokens, stop, response_format, seed,
 * thinking/reasoning...). Transport fields (`LLM_TRANSPORT_FIELDS`) are excluded.
 * @throws CacheScopeRequiredError when `scope` is missing or empty; InvalidOptionsError for an
 * unknown option key.
 */
export function llmCacheKey(params: Record<string, unknown>, options: LlmCacheKeyOptions): string {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new InvalidOptionsError('params', 'must be a request object')
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionsError(
      'options',
      "must be an object with a `scope` (or scope: 'global')"
    )
  }
  // A misspelt `provder` or `exlude` would silently key every request without it.
  rejectUnknownOptions(options, LLM_CACHE_KEY_OPTION_KEYS)
  const { scope, provider = '', exclude = [] } = options
  if (typeof scope !== 'string' || scope.length === 0) throw new CacheScopeRequiredError()
  if (typeof provider !== 'string') throw new InvalidOptionsError('provider', 'must be a string')
  if (!Array.isArray(exclude))
    throw new InvalidOptionsError('exclude', 'must be an array of field names')
  // No prototype: an own `__proto__` field (JSON.parse makes them) is kept as a field, not
  // turned into the copy's prototype (which would leave it out of the key).
  const kept: Record<string, unknown> = Object.create(null)
  for (const field of Object.keys(params)) {
    if (TRANSPORT.has(field) || exclude.includes(field)) continue
    kept[field] = params[field]
  }
  const material = stableStringify({ v: LLM_KEY_VERSION, scope, provider, params: kept })
  return `llm:v${LLM_KEY_VERSION}:${sha256Hex(material)}`
}

/**
 * Whether a request is deterministic enough to cache by default: `temperature` is 0 or a `seed` is
 * set. (Anthropic and OpenAI both sample at temperature 1 when it is omitted.)
 */
export function isDeterministicRequest(params: Record<string, unknown>): boolean {
  return params.temperature === 0 || typeof params.seed === 'number'
}
