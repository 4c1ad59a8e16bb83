/**
 * @module cache-key
 * The dedupe key of a job is the wrapped client's cache key: `llm:<api>:<scope>:<sha-256 of the
 * params as JSON with sorted keys>` (the same default as `@aikit/llm`, so an identical request
 * dedupes here and hits the cache there). The scope is the subject; the dedupe id (`dedupeIdOf`)
 * adds the subject and the cache mode whatever the key is: another subject, another job.
 */
import { createHash } from 'node:crypto'
import type { UsageApi } from '@aikit/cost'
import type { LlmApi } from './types.js'

/** Builds the cache key of a job's params (same signature as `@aikit/llm`'s `cacheKey` option). */
export type LlmJobKeyFn = (
  params: Readonly<Record<string, unknown>>,
  info: { readonly scope: string; readonly api: string }
) => string | Promise<string>

/**
 * JSON with object keys sorted at every level (`undefined` members dropped, as JSON does). A value
 * with a `toJSON` (a Date, a URL) is written as what it returns, once, as `JSON.stringify` does: a
 * URL has no keys of its own, and two URLs must not hash alike.
 */
export function stableStringify(value: unknown): string {
  return stringifyAt(value, '')
}

function stringifyAt(input: unknown, key: string): string {
  let value = input
  if (value !== null && typeof value === 'object') {
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') value = toJSON.call(value, key)
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((v, i) => stringifyAt(v, String(i))).join(',')}]`
  const rec = value as Record<string, unknown>
  const parts: string[] = []
  for (const k of Object.keys(rec).sort()) {
    if (rec[k] === undefined || typeof rec[k] === 'function') continue
    parts.push(`${JSON.stringify(k)}:${stringifyAt(rec[k], k)}`)
  }
  return `{${parts.join(',')}}`
}

/** `llm:<api>:<scope>:<sha-256 hex>`; the scope is URI-encoded so it cannot forge another prefix. */
export const defaultJobKey: LlmJobKeyFn = (params, { scope, api }) =>
  `llm:${api}:${encodeURIComponent(scope)}:${createHash('sha256').update(stableStringify(params)).digest('hex')}`

/**
 * The BullMQ deduplication id of a job: a hash of its subject, its cache mode and its cache key,
 * so two subjects never share a job whatever `cacheKey` returns (an app-wide key), a `'refresh'` /
 * `'no-store'` job never joins a `'default'` one (which may be answered from the cache), and the
 * id stays bounded whatever the key's length.
 */
export function dedupeIdOf(subject: string | undefined, cache: string, key: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([subject ?? null, cache, key]))
    .digest('hex')
  return `llmq:${hash}`
}

/** The `@aikit/cost` / `@aikit/llm` name of an API. */
export function usageApiOf(api: LlmApi): UsageApi {
  return api === 'messages' ? 'anthropic' : api === 'chat' ? 'openai-chat' : 'openai-responses'
}
