/**
 * @module compress/negotiate
 * `Accept-Encoding` negotiation (RFC 9110 §12.5.3) with q-values: `q=0` refuses a coding, `*`
 * stands for every coding not named, and `identity` stays acceptable unless refused. Among the
 * codings the client weighs highest, the server's preference order decides.
 */

/** The codings `compress()` can produce. */
export type CompressEncoding = 'br' | 'gzip' | 'zstd'

const Q_VALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i

/**
 * Parses `Accept-Encoding` into coding → weight (the highest weight when a coding repeats; `x-gzip`
 * counts as `gzip`).
 */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>()
  for (const part of header.split(',')) {
    const semi = part.indexOf(';')
    let name = (semi === -1 ? part : part.slice(0, semi)).trim().toLowerCase()
    if (name === '') continue
    // RFC 9110 §8.4.1.3: a recipient should take x-gzip as gzip.
    if (name === 'x-gzip') name = 'gzip'
    let q = 1
    if (semi !== -1) {
      const param = part
        .slice(semi + 1)
        .trim()
        .replace(/\s+/g, '')
      const m = Q_VALUE.exec(param)
      if (m === null) continue // a malformed weight: ignore the entry rather than guess
      q = Number(m[1])
    }
    const previous = weights.get(name)
    if (previous === undefined || q > previous) weights.set(name, q)
  }
  return weights
}

/**
 * Picks the coding for a response: one of `offered` (in server preference order), or `undefined`
 * for identity (no header, nothing acceptable, or the client weighs `identity` higher).
 */
export function negotiateEncoding(
  header: string | undefined,
  offered: readonly CompressEncoding[]
): CompressEncoding | undefined {
  if (header === undefined) return undefined
  const weights = parseAcceptEncoding(header)
  if (weights.size === 0) return undefined
  const star = weights.get('*')
  let best: CompressEncoding | undefined
  let bestQ = 0
  for (const coding of offered) {
    const q = weights.get(coding) ?? star ?? 0
    if (q > bestQ) {
      best = coding
      bestQ = q
    }
  }
  if (best === undefined) return undefined
  const identity = weights.get('identity')
  if (identity !== undefined && identity > bestQ) return undefined
  return best
}

/** The longest `Accept-Encoding` value `encodingNegotiator` remembers (browsers send ~25 chars). */
const REMEMBERED_HEADER_MAX = 256
/** How many distinct values it remembers before forgetting them all at once. */
const REMEMBERED_HEADERS_MAX = 64

/**
 * `negotiateEncoding` for one fixed `offered` list, remembering its answer for the header values
 * seen last: clients send the same few `Accept-Encoding` values on every request, and parsing one
 * is a split, a Map and a regex per request. Bounded (values up to 256 characters, 64 of them,
 * then emptied at once), so headers an attacker varies cost memory no more than a parse would.
 */
export function encodingNegotiator(
  offered: readonly CompressEncoding[]
): (header: string | undefined) => CompressEncoding | undefined {
  const remembered = new Map<string, CompressEncoding | null>()
  return (header) => {
    if (header === undefined) return undefined
    if (header.length > REMEMBERED_HEADER_MAX) return negotiateEncoding(header, offered)
    const known = remembered.get(header)
    if (known !== undefined) return known ?? undefined
    const chosen = negotiateEncoding(header, offered)
    if (remembered.size >= REMEMBERED_HEADERS_MAX) remembered.clear()
    remembered.set(header, chosen ?? null)
    return chosen
  }
}
