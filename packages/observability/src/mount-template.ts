/**
 * @module mount-template
 * Turning the text an Express mount path matched (`/users/42/posts`, a piece of `req.baseUrl`)
 * back into its template (`/users/:userId/posts`) from the values of the params it matched.
 */

/**
 * A literal part of `req.baseUrl`, lower-cased. Express matches mount paths case-insensitively
 * unless the router doing the match was made case-sensitive, and `baseUrl` keeps the client's
 * spelling: `/API/V1` and `/Api/v1` both match `app.use('/api/v1', router)`, and as they came they
 * would be one series per spelling, minted by clients. Which router matched which part of
 * `baseUrl` is not recorded on the request (the app's `case sensitive routing` setting covers
 * only its own mounts: an `express.Router()` mounted below matches its own mounts
 * case-insensitively by default), so every literal mount segment is lower-cased, whatever the
 * settings: one template per route, the mount part in lower case. A mount path spelled with
 * percent-escapes of its letters (`/api/v%31`) does not match in Express, so it needs nothing.
 */
export function literal(text: string): string {
  return text.toLowerCase()
}

/**
 * `text` with the value of each param in `keys` put back as `:name` where it is a whole segment,
 * the other segments literal (see `literal`). Conservative: `undefined` (the unmatched route, never
 * the raw text) unless every value is a string found in exactly one segment, and no segment is
 * claimed by two params (`/orgs/7/users/7` as one piece, or a value equal to a literal segment such
 * as `/users/users/posts`). Values that span segments (a wildcard) or share one with other text
 * (`/:from-:to`) cannot be placed either. A param without a value (an optional one the path did
 * not have) is not in the text: nothing to place.
 */
export function placeParams(
  text: string,
  keys: Iterable<string>,
  params: Record<string, unknown>
): string | undefined {
  const segments = text.split('/')
  const names: (string | undefined)[] = []
  for (const key of keys) {
    const value = params[key]
    if (value === undefined) continue
    if (typeof value !== 'string' || value === '') return undefined
    let at = -1
    for (let i = 1; i < segments.length; i++) {
      if (segmentValue(segments[i]!) !== value) continue
      if (at !== -1) return undefined // found twice: which one is the param is a guess
      at = i
    }
    if (at === -1 || names[at] !== undefined) return undefined
    names[at] = key
  }
  for (let i = 1; i < segments.length; i++) {
    const name = names[i]
    segments[i] = name === undefined ? literal(segments[i]!) : `:${name}`
  }
  return segments.join('/')
}

/** A `baseUrl` segment as Express decodes a param value from it. */
function segmentValue(segment: string): string {
  if (!segment.includes('%')) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
