/**
 * @module csrf-token
 * The optional signed double-submit token of `csrf()`, for clients that send neither
 * `Sec-Fetch-Site` nor `Origin`. A token is `<random>.<HMAC-SHA256(secret, session id, random)>`
 * (base64url), so it is bound to the session and cannot be forged or tossed in from a subdomain
 * without the server secret. It travels in a `__Host-` cookie (Secure, Path=/, no Domain: a
 * subdomain cannot overwrite it) and must come back in a request header. Cookie and header are
 * compared in constant time; the signature is checked with `crypto.subtle.verify` against every
 * configured secret, so secrets rotate by prepending the new one. Edge-safe (Web Crypto only).
 */
import { type Context, InvalidOptionsError } from '@aikit/core'
import { rejectUnknownOptions } from '@aikit/core/adapter'

declare module '@aikit/core' {
  interface AikitState {
    /** The CSRF token to send back in the `x-csrf-token` header (set by `csrf({ token })` on safe requests). */
    csrfToken?: string
  }
}

/** Options of the token mode: `csrf({ token: { secrets, sessionId } })`. */
export interface CsrfTokenOptions {
  /** HMAC secrets, each at least 32 characters; the first signs, every one verifies (rotation). Required. */
  secrets: readonly string[]
  /**
   * The session the token is bound to (e.g. the session id or user id; never exposed). Requests
   * without a session get tokens bound to the anonymous session. Required.
   */
  sessionId: (ctx: Context) => string | undefined | Promise<string | undefined>
  /** Cookie name; must start with `__Host-`. @default '__Host-aikit-csrf' */
  cookieName?: string
  /** Request header the client sends the token in. @default 'x-csrf-token' */
  headerName?: string
  /** Mark the cookie HttpOnly (the page then reads the token from `ctx.state.csrfToken`). @default true */
  httpOnly?: boolean
}
const CSRF_TOKEN_KEYS = Object.keys({
  secrets: true,
  sessionId: true,
  cookieName: true,
  headerName: true,
  httpOnly: true,
} satisfies Record<keyof CsrfTokenOptions, true>)

const RANDOM_BYTES = 16
const MIN_SECRET_LENGTH = 32
const COOKIE_NAME = /^__Host-[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_NAME = /^[A-Za-z0-9-]+$/
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/
const encoder = new TextEncoder()

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** Compares two strings in time that depends only on their length (which is not secret here). */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** What the HMAC covers: length-prefixed so `("ab", "c")` and `("a", "bc")` differ. */
function message(sessionId: string, random: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${sessionId.length}:${sessionId}:${random}`)
}

/** A validated token mode. */
export interface CsrfTokens {
  readonly cookieName: string
  readonly headerName: string
  sessionOf(ctx: Context): Promise<string>
  /** A new token for the session. */
  issue(sessionId: string): Promise<string>
  /** True when the token is well-formed and signed for this session by any configured secret. */
  verify(token: string, sessionId: string): Promise<boolean>
  /** The `Set-Cookie` value for a token. */
  cookie(token: string): string
}

/** Validates the token options. */
export function compileTokens(options: unknown): CsrfTokens {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('token', 'must be an object with secrets and sessionId')
  }
  rejectUnknownOptions(options, CSRF_TOKEN_KEYS, 'token.')
  const o = options as CsrfTokenOptions
  if (!Array.isArray(o.secrets) || o.secrets.length === 0) {
    throw new InvalidOptionsError('token.secrets', 'must be a non-empty array of strings')
  }
  o.secrets.forEach((s, i) => {
    if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) {
      // Never echo the secret itself.
      throw new InvalidOptionsError(
        `token.secrets[${i}]`,
        `must be a string of at least ${MIN_SECRET_LENGTH} characters`
      )
    }
  })
  if (typeof o.sessionId !== 'function') {
    throw new InvalidOptionsError(
      'token.sessionId',
      'must be a function (ctx) => string | undefined'
    )
  }
  const cookieName = o.cookieName ?? '__Host-aikit-csrf'
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) {
    throw new InvalidOptionsError(
      'token.cookieName',
      "must be a cookie name starting with '__Host-'"
    )
  }
  const rawHeaderName: unknown = o.headerName ?? 'x-csrf-token'
  if (typeof rawHeaderName !== 'string' || !HEADER_NAME.test(rawHeaderName.toLowerCase())) {
    throw new InvalidOptionsError('token.headerName', 'must be a header name')
  }
  const headerName = rawHeaderName.toLowerCase()
  const httpOnly = o.httpOnly ?? true
  if (typeof httpOnly !== 'boolean')
    throw new InvalidOptionsError('token.httpOnly', 'must be a boolean')
  const secrets = o.secrets.slice()
  const sessionId = o.sessionId
  let keys: Promise<CryptoKey[]> | undefined
  const keysOnce = (): Promise<CryptoKey[]> => {
    keys ??= Promise.all(
      secrets.map((s) =>
        crypto.subtle.importKey(
          'raw',
          encoder.encode(s),
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['sign', 'verify']
        )
      )
    )
    return keys
  }
  const attributes = `; Path=/; Secure; SameSite=Strict${httpOnly ? '; HttpOnly' : ''}`

  return {
    cookieName,
    headerName,
    async sessionOf(ctx) {
      const id = await sessionId(ctx)
      return typeof id === 'string' ? id : ''
    },
    async issue(session) {
      const random = base64url(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)))
      const [key] = await keysOnce()
      const mac = await crypto.subtle.sign('HMAC', key!, message(session, random))
      return `${random}.${base64url(new Uint8Array(mac))}`
    },
    async verify(token, session) {
      if (!TOKEN_SHAPE.test(token)) return false
      const dot = token.indexOf('.')
      const data = message(session, token.slice(0, dot))
      const mac = fromBase64url(token.slice(dot + 1))
      let ok = false
      // Check every key (no early exit), so the time does not tell which secret matched.
      for (const key of await keysOnce()) {
        if (await crypto.subtle.verify('HMAC', key, mac, data)) ok = true
      }
      return ok
    },
    cookie(token) {
      return `${cookieName}=${token}${attributes}`
    },
  }
}

/** The value of one cookie from a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
