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

const PREFIX = `${ENVELOPE_VERSION}|`
const PIPE = 0x7c
const NEWLINE = 0x0a
const ZERO = 0x30
const NINE = 0x39

/**
 * Parses a stored string; `undefined` for another version or a malformed value (treated as a miss).
 *
 * This runs on every store-tier hit, so the header is read in one scan of character codes: no
 * `split`, no per-field strings, and the payload is one `slice` (V8 makes it a view, not a copy).
 * A header that is not the plain integer form `encodeEnvelope` writes goes to the general parser.
 */
export function decodeEnvelope(text: string): DecodedEnvelope | undefined {
  if (!hasPrefix(text)) return undefined
  let i = PREFIX.length
  const freshUntil = readInt(text, i)
  if (freshUntil < 0) return decodeEnvelopeSlow(text)
  i = intEnd + 1
  const staleUntil = readInt(text, i)
  if (staleUntil < 0) return decodeEnvelopeSlow(text)
  i = intEnd + 1
  const createdAt = readInt(text, i)
  if (createdAt < 0) return decodeEnvelopeSlow(text)
  i = intEnd + 1
  let encoding: 'json' | 'gz'
  if (isJsonField(text, i)) {
    encoding = 'json'
    i += 5
  } else if (text.startsWith('gz|', i)) {
    encoding = 'gz'
    i += 3
  } else {
    return decodeEnvelopeSlow(text)
  }
  let tags: readonly string[] | undefined
  if (text.charCodeAt(i) === NEWLINE) {
    i++
  } else if (
    lastTags !== undefined &&
    text.charCodeAt(i + lastTagsText.length) === NEWLINE &&
    text.startsWith(lastTagsText, i)
  ) {
    // Entries of one namespace carry the same tags: reuse the last parse, no new string.
    tags = lastTags
    i += lastTagsText.length + 1
  } else {
    const newline = text.indexOf('\n', i)
    if (newline === -1) return undefined
    const tagsText = text.slice(i, newline)
    tags = parseTags(tagsText)
    if (tags === undefined) return undefined
    lastTagsText = tagsText
    lastTags = tags
    i = newline + 1
  }
  return { freshUntil, staleUntil, createdAt, tags, encoding, payload: text.slice(i) }
}

/** `text` starts with `aikit1|` (compared by code: cheaper than `startsWith` on this path). */
function hasPrefix(text: string): boolean {
  if (text.length <= PREFIX.length) return false
  for (let i = 0; i < PREFIX.length; i++) {
    if (text.charCodeAt(i) !== PREFIX.charCodeAt(i)) return false
  }
  return true
}

/** `json|` at `at`. */
function isJsonField(text: string, at: number): boolean {
  return (
    text.charCodeAt(at) === 0x6a &&
    text.charCodeAt(at + 1) === 0x73 &&
    text.charCodeAt(at + 2) === 0x6f &&
    text.charCodeAt(at + 3) === 0x6e &&
    text.charCodeAt(at + 4) === PIPE
  )
}

/** Where the last `readInt` stopped (the index of its `|`): a module cursor saves an allocation. */
let intEnd = 0

/**
 * The plain non-negative integer at `from`, followed by `|`; -1 when the field has another form
 * (sign, decimals, exponent, `Infinity`) or more than 15 digits (past exact integers).
 */
function readInt(text: string, from: number): number {
  let n = 0
  let i = from
  let c = text.charCodeAt(i)
  while (c >= ZERO && c <= NINE) {
    n = n * 10 + (c - ZERO)
    c = text.charCodeAt(++i)
  }
  if (c !== PIPE || i === from || i - from > 15) return -1
  intEnd = i
  return n
}

/** The last tags text parsed and its (frozen, shared) result. */
let lastTagsText = ''
let lastTags: readonly string[] | undefined

/** A tags JSON array of strings (frozen: decoded entries may share it), or `undefined`. */
function parseTags(tagsText: string): readonly string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(tagsText)
    if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) return undefined
    return Object.freeze(parsed as string[])
  } catch {
    return undefined
  }
}

/** The general parser: any number form `Number()` reads, checked to be finite. */
function decodeEnvelopeSlow(text: string): DecodedEnvelope | undefined {
  const newline = text.indexOf('\n')
  if (newline === -1) return undefined
  const fields = text.slice(PREFIX.length, newline).split('|')
  if (fields.length < 5) return undefined
  const freshUntil = Number(fields[0])
  const staleUntil = Number(fields[1])
  const createdAt = Number(fields[2])
  const encoding = fields[3]
  if (!Number.isFinite(freshUntil) || !Number.isFinite(staleUntil) || !Number.isFinite(createdAt)) {
    return undefined
  }
  if (encoding !== 'json' && encoding !== 'gz') return undefined
  // Tags JSON may itself contain `|`: it is everything after the fourth separator.
  const tagsText = fields.slice(4).join('|')
  let tags: readonly string[] | undefined
  if (tagsText.length > 0) {
    tags = parseTags(tagsText)
    if (tags === undefined) return undefined
  }
  return { freshUntil, staleUntil, createdAt, tags, encoding, payload: text.slice(newline + 1) }
}
