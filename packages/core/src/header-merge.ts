/**
 * @module header-merge
 * How a header set by middleware combines with the same header set by the route itself. For most
 * headers the route's own value wins (it knows its response best). Two are lists where dropping
 * either side is a bug: `Vary` (losing a middleware's `Vary: Origin` lets a shared cache serve one
 * origin's CORS answer to another) and `Set-Cookie` (losing either side's cookie). Those are merged.
 *
 * Pending `Set-Cookie` values hold several cookies separated by `\n` (a character no header value
 * may contain, so it cannot come from user input): cookies must stay separate header lines.
 */

/** Separator of several cookies inside one pending `Set-Cookie` value. */
export const COOKIE_SEPARATOR = '\n'

/** The cookies of a pending `Set-Cookie` value. */
export function splitCookies(value: string): string[] {
  return value.split(COOKIE_SEPARATOR)
}

/** Union of two `Vary` values (case-insensitive, order kept; `*` absorbs everything). */
export function mergeVary(route: string, ours: string): string {
  const seen = new Set<string>()
  const out: string[] = []
  for (const token of `${route},${ours}`.split(',')) {
    const t = token.trim()
    if (t === '') continue
    if (t === '*') return '*'
    const key = t.toLowerCase()
    if (seen.has(key)) continue
    seen.add(key)
    out.push(t)
  }
  return out.join(', ')
}

/**
 * The value to write for header `lower` (lower-cased name) given the route's own value (if any)
 * and the middleware's pending value; `undefined` means "keep the route's value".
 */
export function combineHeader(
  lower: string,
  route: string | number | readonly string[] | undefined,
  ours: string
): string | string[] | undefined {
  if (lower === 'set-cookie') {
    const existing = route === undefined ? [] : Array.isArray(route) ? [...route] : [String(route)]
    // The middleware's first: of two cookies of one name a browser keeps the last, and the
    // route's own wins as its other headers do.
    return [...splitCookies(ours), ...existing]
  }
  if (lower === 'vary') {
    if (route === undefined) return ours
    return mergeVary(Array.isArray(route) ? route.join(', ') : String(route), ours)
  }
  return route === undefined ? ours : undefined
}
