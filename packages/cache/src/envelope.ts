/**
 * @module envelope
 * The versioned storage format of one Redis-tier entry:
 *
 *   `aikit1|<freshUntil>|<staleUntil>|<createdAt>|<encoding>|<tags JSON>\n<payload>`
 *
 * The format version leads every value, so a reader meeting another version treats the entry as a
 * miss instead of misreading it. `freshUntil` comes second so the lock script can test freshness
 * with one pattern match. The payload is the serializer's text, or base64 gzip (`encoding: gz`).
 */

/** The prefix of the current format. */
export const ENVELOPE_VERSION = 'aikit1'

/** One cache entry's metadata (times in epoch milliseconds). */
export interface EntryMeta {
  readonly createdAt: number
  /** Fresh until this instant. */
  readonly freshUntil: number
  /** Servable as stale (SWR / stale-if-error) until this instant. */
  readonly staleUntil: number
  /** Tags for `invalidateTags`, or `undefined`. */
  readonly tags: readonly string[] | undefined
}

/** A decoded envelope: metadata plus the still-encoded payload. */
export interface DecodedEnvelope extends EntryMeta {
  readonly encoding: 'json' | 'gz'
  readonly payload: string
}

/** Builds the stored string. */
export function encodeEnvelope(meta: EntryMeta, encoding: 'json' | 'gz', payload: string): string {
  const tags = meta.tags === undefined || meta.tags.length === 0 ? '' : JSON.stringify(meta.tags)
  return `${ENVELOPE_VERSION}|${meta.freshUntil}|${meta.staleUntil}|${meta.createdAt}|${encoding}|${tags}\n${payload}`
}

/** Parses a stored string; `undefined` for another version or a malformed value (treated as a miss). */
export function decodeEnvelope(text: string): DecodedEnvelope | undefined {
  if (!text.startsWith(`${ENVELOPE_VERSION}|`)) return undefined
  const newline = text.indexOf('\n')
  if (newline === -1) return undefined
  const header = text.slice(ENVELOPE_VERSION.length + 1, newline).split('|')
  if (header.length < 5) return undefined
  const freshUntil = Number(header[0])
  const staleUntil = Number(header[1])
  const createdAt = Number(header[2])
  const encoding = header[3]
  if (!Number.isFinite(freshUntil) || !Number.isFinite(staleUntil) || !Number.isFinite(createdAt)) {
    return undefined
  }
  if (encoding !== 'json' && encoding !== 'gz') return undefined
  // Tags JSON may itself contain `|`: it is everything after the fourth separator.
  const tagsText = header.slice(4).join('|')
  let tags: readonly string[] | undefined
  if (tagsText.length > 0) {
    try {
      const parsed: unknown = JSON.parse(tagsText)
      if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) return undefined
      tags = parsed as string[]
    } catch {
      return undefined
    }
  }
  return { freshUntil, staleUntil, createdAt, tags, encoding, payload: text.slice(newline + 1) }
}
