/**
 * @module next/headers
 * Adds the middleware's pending headers to a Web `Headers`: the route's own header of the same
 * name wins, except `Vary` (merged) and `Set-Cookie` (every cookie its own line, the middleware's
 * before the route's, so that the route's wins for a cookie both set).
 */
import { mergeVary, splitCookies } from '@aikit/core/adapter'

export function applyPendingHeaders(headers: Headers, pending: Iterable<[string, string]>): void {
  for (const [name, value] of pending) {
    const lower = name.toLowerCase()
    if (lower === 'set-cookie') {
      // The middleware's cookies go before the route's: of two cookies of one name, a browser
      // keeps the last, and the route's own wins as its other headers do.
      const routes = headers.getSetCookie()
      headers.delete('set-cookie')
      for (const cookie of splitCookies(value)) headers.append('set-cookie', cookie)
      for (const cookie of routes) headers.append('set-cookie', cookie)
      continue
    }
    const existing = headers.get(name)
    if (lower === 'vary') headers.set(name, existing === null ? value : mergeVary(existing, value))
    else if (existing === null) headers.set(name, value)
  }
}
