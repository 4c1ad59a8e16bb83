/**
 * @module next/next-errors
 * Next's control-flow "errors" (`redirect()`, `notFound()`, `forbidden()`, `unauthorized()`,
 * dynamic-usage bailouts) carry a string `digest` and must never become a 500. Recognised by
 * their digest, without importing Next internals.
 */

function digestOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const digest = (error as { digest?: unknown }).digest
  return typeof digest === 'string' ? digest : undefined
}

const REDIRECT_STATUSES = new Set([303, 307, 308])
const ACCESS_STATUSES = new Set([401, 403, 404])

/**
 * The Response Next itself builds for a `redirect()` / `notFound()` / `forbidden()` /
 * `unauthorized()` thrown by a route handler (Next then adds cookies set through `cookies()`, as
 * for any returned Response). Undefined for anything else.
 */
export function controlFlowResponse(error: unknown): Response | undefined {
  const digest = digestOf(error)
  if (digest === undefined) return undefined
  const parts = digest.split(';')
  if (parts[0] === 'NEXT_REDIRECT' && (parts[1] === 'replace' || parts[1] === 'push')) {
    const status = Number(parts.at(-2))
    const location = parts.slice(2, -2).join(';')
    if (!REDIRECT_STATUSES.has(status) || location === '') return undefined
    return new Response(null, { status, headers: { location } })
  }
  if (parts[0] === 'NEXT_HTTP_ERROR_FALLBACK') {
    const status = Number(parts[1])
    if (ACCESS_STATUSES.has(status)) return new Response(null, { status })
  }
  return undefined
}

/**
 * True for Next's other internal signals (e.g. `DYNAMIC_SERVER_USAGE` while prerendering, React
 * postpone, the `StaticGenBailoutError` a route with `dynamic = 'error'` throws when it reads the
 * request at build time, which carries a `code` and no digest): they are handed back to Next
 * untouched. Answered as a 500, the last would pass the build (Next reads any status >= 400 as
 * "dynamic") and defeat the route's `dynamic = 'error'`.
 */
export function isNextSignal(error: unknown): boolean {
  if (digestOf(error) !== undefined && error instanceof Error) return true
  if (error instanceof Error && (error as { code?: unknown }).code === 'NEXT_STATIC_GEN_BAILOUT') {
    return true
  }
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { $$typeof?: unknown }).$$typeof === Symbol.for('react.postpone')
  )
}
