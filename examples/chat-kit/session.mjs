// An anonymous session: a random 128-bit id in an HttpOnly cookie, created on the first request.
// It is the budget subject and the cache scope, so one visitor can neither spend another's budget
// nor read another's cached answers.

export const SESSION_COOKIE = 'aikit_sid'
const SESSION_ID = /^[0-9a-f]{32}$/

/** The value of cookie `name` in a `Cookie` header, if any. */
function readCookie(header, name) {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * The subject of session `id`: `session:` and the first 32 hex digits of its SHA-256. Subjects
 * are logged (every request line, every LLM call) and name the budget's and cache's keys; the id
 * itself is the visitor's only credential, which anyone reading the logs could replay.
 */
export async function subjectOf(id) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(id))
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
  return `session:${hex.slice(0, 32)}`
}

const newSessionId = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Middleware: `ctx.state.subject` = `subjectOf(<id>)` from the `aikit_sid` cookie; a missing or
 * malformed cookie gets a fresh id and a `Set-Cookie` (HttpOnly, SameSite=Lax, Path=/, 30 days,
 * Secure when `secure`).
 * @param {{ secure: boolean }} options `secure`: add the Secure attribute (production, behind HTTPS)
 * @returns {import('@aikit/core').Middleware}
 */
export function sessionSubject({ secure }) {
  const attributes = `Path=/; Max-Age=${30 * 24 * 3600}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
  return async function sessionSubject(ctx, next) {
    let id = readCookie(ctx.header('cookie'), SESSION_COOKIE)
    if (id === undefined || !SESSION_ID.test(id)) {
      id = newSessionId()
      ctx.appendHeader('set-cookie', `${SESSION_COOKIE}=${id}; ${attributes}`)
    }
    ctx.state.subject = await subjectOf(id)
    await next()
  }
}
