/**
 * @module store/keys
 * Key layout shared by every store: `${prefix}:{${tag}}:${parts.join(':')}`.
 *
 * The `{tag}` is a Redis Cluster hash tag: every key built with the same tag lands in the same
 * slot, so one atomic op may touch all of them. Braces inside a tag would move the slot, so the tag
 * is percent-escaped (`%` → `%25`, `{` → `%7B`, `}` → `%7D`) rather than rejected: tags are often
 * user-derived (ids, IPs) and must never make a request fail. A lone surrogate (half of an emoji,
 * as left by cutting text at a length) becomes `%uD83D`: Redis clients send keys as UTF-8, where
 * every lone surrogate turns into U+FFFD, so two different tags would otherwise share a key.
 * Escaping is injective, so two different tags never share a key. Parts are joined verbatim with `:`; they are chosen by the
 * package (e.g. `'rl'`, `'minute'`), not by end users.
 *
 * A tag longer than `MAX_TAG_LENGTH` is stored under its digest (see `storedTag`): tags come from
 * clients (a rate-limit key read from an API-key header, a budget subject), and 100,000 keys of
 * 8 KB each held ~800 MB in a memory store bounded by its key count (and as much in Redis).
 */
import { sha256Hex } from '../sha256.js'
import { InvalidOptionsError } from './errors.js'

/** Longest tag a key holds as written; a longer one is replaced by its digest (`storedTag`). */
export const MAX_TAG_LENGTH = 256

/**
 * The tag a store keeps for `tag`: itself up to `MAX_TAG_LENGTH` characters, else
 * `\0sha256:<hex digest of its escaped form>` (72 characters). The escaped form (see `escapeTag`)
 * is hashed so that two tags differing only in a lone surrogate keep different digests. A
 * written tag could only share the digest form by starting with a NUL and spelling the digest of
 * another tag, which needs that tag's text.
 */
export function storedTag(tag: string): string {
  return tag.length <= MAX_TAG_LENGTH ? tag : `\u0000sha256:${sha256Hex(escapeTag(tag))}`
}

/** Validates a key prefix: non-empty, no `{` or `}` (they would become the hash tag). */
export function validatePrefix(prefix: unknown, field = 'prefix'): string {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidOptionsError(field, 'must be a non-empty string')
  }
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new InvalidOptionsError(field, 'must not contain `{` or `}` (reserved for hash tags)')
  }
  return prefix
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Whether `text` has no lone surrogate (`String.prototype.isWellFormed`, Node 20+). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}

/** Percent-escapes `%`, `{`, `}` and lone surrogates in a hash tag. */
export function escapeTag(tag: string): string {
  // Most tags (ids, IPs) need no escaping: skip the regexes for them.
  const plain = tag.indexOf('{') === -1 && tag.indexOf('}') === -1 && tag.indexOf('%') === -1
  if (plain && isWellFormed(tag)) return tag
  const escaped = plain
    ? tag
    : tag.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'))
  return isWellFormed(escaped)
    ? escaped
    : escaped.replace(LONE_SURROGATE, (c) => `%u${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/**
 * Builds `${prefix}:{${escapedTag}}:${parts.join(':')}` (a tag over `MAX_TAG_LENGTH` characters as
 * its digest, see `storedTag`). Throws `InvalidOptionsError` on an empty tag.
 */
export function formatKey(prefix: string, tag: string, parts: readonly string[]): string {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new InvalidOptionsError('tag', 'must be a non-empty string')
  }
  const head = `${prefix}:{${escapeTag(storedTag(tag))}}`
  return parts.length === 0 ? head : `${head}:${parts.join(':')}`
}

/**
 * The inverse of `formatKey(prefix, tag, [part])` for a non-empty part: `{ tag, part }` with the
 * tag unescaped, or `undefined` when `key` is not exactly such a key (so that `formatKey` of the
 * result always gives `key` back).
 */
export function parseKey(prefix: string, key: string): { tag: string; part: string } | undefined {
  const open = prefix.length + 1
  if (
    key.charCodeAt(open) !== 123 /* { */ ||
    key.charCodeAt(prefix.length) !== 58 /* : */ ||
    !key.startsWith(prefix)
  ) {
    return undefined
  }
  const close = key.indexOf('}', open + 1)
  if (close <= open + 1 || key.charCodeAt(close + 1) !== 58 /* : */ || close + 2 >= key.length) {
    return undefined
  }
  const escaped = key.slice(open + 1, close)
  const tag = escaped.indexOf('%') === -1 ? escaped : unescapeTag(escaped)
  // A `{`, or a `%` that is not one of our escapes: formatKey did not build this key.
  if (escapeTag(tag) !== escaped) return undefined
  return { tag, part: key.slice(close + 2) }
}

function unescapeTag(escaped: string): string {
  return escaped.replace(/%(25|7B|7D|uD[89A-F][0-9A-F]{2})/g, (_, code: string) =>
    code === '25'
      ? '%'
      : code === '7B'
        ? '{'
        : code === '7D'
          ? '}'
          : String.fromCharCode(Number.parseInt(code.slice(1), 16))
  )
}

/**
 * The part of a key Redis Cluster hashes: the text between the first `{` and the next `}` if that is
 * non-empty, otherwise the whole key.
 */
export function hashSlotSource(key: string): string {
  const open = key.indexOf('{')
  if (open === -1) return key
  const close = key.indexOf('}', open + 1)
  if (close === -1 || close === open + 1) return key
  return key.slice(open + 1, close)
}

/**
 * Checks that all keys of one atomic op share one hash tag (so they share a Cluster slot). Both
 * stores check this, so a CROSSSLOT mistake shows up with `memoryStore` in development rather than on
 * a production Cluster. Runs on every op: a single key needs no slot at all, and the others are
 * compared to the first in place (no slicing).
 */
export function assertSameSlot(keys: readonly string[]): void {
  if (!Array.isArray(keys)) throw new InvalidOptionsError('keys', 'must be an array of strings')
  let start = 0
  let length = 0
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]
    if (typeof key !== 'string' || key.length === 0) {
      throw new InvalidOptionsError(`keys[${i}]`, 'must be a non-empty string')
    }
    if (i === 0) continue
    const first = keys[0] as string
    if (i === 1) {
      start = slotStart(first)
      length = slotEnd(first, start) - start
    }
    const at = slotStart(key)
    if (
      slotEnd(key, at) - at !== length ||
      (key !== first && !sameChars(first, start, key, at, length))
    ) {
      throw new InvalidOptionsError(
        'keys',
        `all keys of one op must share a {hash tag} (build them with store.key(tag, ...)); got ${JSON.stringify(keys)}`
      )
    }
  }
}

/** Where `hashSlotSource(key)` starts in `key`. */
function slotStart(key: string): number {
  const open = key.indexOf('{')
  if (open === -1) return 0
  const close = key.indexOf('}', open + 1)
  return close === -1 || close === open + 1 ? 0 : open + 1
}

/** Where `hashSlotSource(key)` ends in `key`, given its start. */
function slotEnd(key: string, start: number): number {
  return start === 0 ? key.length : key.indexOf('}', start)
}

function sameChars(a: string, aFrom: number, b: string, bFrom: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    if (a.charCodeAt(aFrom + i) !== b.charCodeAt(bFrom + i)) return false
  }
  return true
}
