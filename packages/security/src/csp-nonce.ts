/**
 * @module csp-nonce
 * The per-request CSP nonce: 144 random bits from `crypto.getRandomValues`, base64 (24 characters,
 * no padding). One nonce per request, shared by every CSP middleware of that request, on
 * `ctx.state.cspNonce` and mirrored where each framework's templates look for it.
 */
import type { Context } from '@aikit/core'

declare module '@aikit/core' {
  interface AikitState {
    /** This request's CSP nonce (base64, 144 bits), set by `contentSecurityPolicy` / `securityHeaders` with `nonce`. */
    cspNonce?: string
  }
}

/**
 * The method `@aikit/adapters/next` puts on its contexts to set a header on the request the route
 * receives (a registry symbol, so this package needs no dependency on the adapter).
 */
export const SET_REQUEST_HEADER: unique symbol = Symbol.for(
  '@aikit/adapters.next.set-request-header'
) as never

const NONCE_BYTES = 18

/** A fresh nonce: 18 random bytes (144 bits) as base64. */
export function createNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
  let binary = ''
  for (let i = 0; i < NONCE_BYTES; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

type Exposable = {
  reply?: Record<string, unknown>
  res?: { locals?: Record<string, unknown> }
  [SET_REQUEST_HEADER]?: (name: string, value: string) => void
}

/**
 * This request's nonce, created on first use and exposed: `ctx.state.cspNonce` everywhere,
 * `reply.cspNonce` under Fastify, `res.locals.cspNonce` under Express, and the `x-nonce` request
 * header under Next (for Server Components: `(await headers()).get('x-nonce')`).
 */
export function requestNonce(ctx: Context): string {
  const existing = ctx.state.cspNonce
  if (existing !== undefined) return existing
  const nonce = createNonce()
  ctx.state.cspNonce = nonce
  const c = ctx as unknown as Exposable
  if (c.reply !== undefined && typeof c.reply === 'object') c.reply.cspNonce = nonce
  else if (c.res?.locals !== undefined && typeof c.res.locals === 'object') {
    c.res.locals.cspNonce = nonce
  }
  setRequestHeader(ctx, 'x-nonce', nonce)
  return nonce
}

/** Sets a request header for the route under the Next adapter; a no-op under other adapters. */
export function setRequestHeader(ctx: Context, name: string, value: string): void {
  const set = (ctx as unknown as Exposable)[SET_REQUEST_HEADER]
  if (typeof set === 'function' && !ctx.headersSent) set.call(ctx, name, value)
}
