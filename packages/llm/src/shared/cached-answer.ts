/**
 * @module cached-answer
 * What the cache holds for one answer, and which stored entries a caller may be served.
 */
import type { ApiSpec, Params } from './spec.js'

/**
 * What the cache holds for one answer. A stream's events are stored as the provider sent them (an
 * OpenAI chat stream's usage chunk and `usage: null` fields included): each hit passes on what its
 * own caller asked for (`hidesUsage`). Stream entries are `v: 2` since 2026-11-28; a `v: 1` one
 * (stored before) holds the events as its first caller saw them: see `serves`.
 */
export type CachedAnswer =
  | { readonly v: 1; readonly kind: 'response'; readonly data: unknown }
  | { readonly v: 1 | 2; readonly kind: 'stream'; readonly events: readonly unknown[] }

/** `value` as a cached answer, or `undefined` for anything else (a miss). */
export function asCachedAnswer(value: unknown): CachedAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Partial<CachedAnswer> & Record<string, unknown>
  if (v.kind === 'response') return v.v === 1 && 'data' in v ? (v as CachedAnswer) : undefined
  if (v.kind === 'stream' && (v.v === 1 || v.v === 2) && Array.isArray(v.events)) {
    return v as CachedAnswer
  }
  return undefined
}

const hasUsage = (event: unknown): boolean =>
  typeof event === 'object' &&
  event !== null &&
  typeof (event as { usage?: unknown }).usage === 'object' &&
  (event as { usage?: unknown }).usage !== null

/**
 * Whether `answer` gives a caller with `params` what it asked for. A `v: 1` stream entry lacks an
 * OpenAI chat stream's usage chunk when its first caller had not asked for usage: it serves a
 * caller that did not ask either (the chunk is hidden from it anyway), and one that did only when
 * it holds the chunk. An Anthropic or Responses stream was never filtered. Either way only an
 * entry holding a whole answer is served (see below). Read
 * rather than missed, a `v: 1` entry is not overwritten by processes of this version while
 * processes of the previous one (which take `v: 2` entries for misses) still share the cache.
 */
export function serves(answer: CachedAnswer, spec: ApiSpec, params: Params): boolean {
  if (answer.kind !== 'stream' || answer.v === 2) return true
  // Versions that wrote `v: 1` stored some streams that were no whole answer (a refusal, a
  // `content_filter` or `pause_turn` end, an n > 1 chat stream with a choice cut short): those
  // are misses, as they would not be stored now.
  if (spec.streamEnd(answer.events).kind !== 'whole') return false
  return spec.hidesUsage === undefined || spec.hidesUsage(params) || answer.events.some(hasUsage)
}
