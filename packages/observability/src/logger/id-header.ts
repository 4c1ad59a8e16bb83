/**
 * @module id-header
 * Puts the request id on the response through the framework's own response object where the
 * adapter exposes one (as `@aikit/security`'s headers-native does for `securityHeaders`): Fastify's
 * `reply.header()` (`FastifyContext.reply`), else Node's `res.setHeader()` (`NodeContext.res`,
 * node:http and Express). Set before `next()`, such a header is on every response the adapter or
 * the framework writes, the kit's JSON errors included, and costs less than `ctx.setHeader`, whose
 * pending entry is checked, kept in a map and copied in at head time (on Fastify, `reply.header`
 * also keeps Node on its fast `writeHead(status, headers)` path). Elsewhere (the Web / Next
 * adapter) it is `ctx.setHeader`. Only values known to be valid header text take the native path.
 */
import type { Context } from '@aikit/core'

interface FastifyReplyLike {
  header(name: string, value: string): unknown
  raw?: { headersSent?: boolean }
}

interface NodeResponseLike {
  setHeader(name: string, value: string): unknown
  headersSent?: boolean
}

/** The Node adapters' record of headers set natively (see `NodeContext.noteNativeHeader`). */
interface NotingContext {
  noteNativeHeader?: (lowerName: string, value: string) => void
}

/** Lets a later `ctx.setHeader` of the same name still replace the header (last writer wins). */
function noteNative(ctx: Context, lowerName: string, value: string): void {
  const c = ctx as unknown as NotingContext
  if (typeof c.noteNativeHeader === 'function') c.noteNativeHeader(lowerName, value)
}

/**
 * Sets `name: value` on the response. `lowerName` is `name` in lower case (Fastify stores reply
 * headers lower-cased); `value` must be valid header text (no CR, LF or NUL).
 */
export function setResponseHeader(
  ctx: Context,
  name: string,
  lowerName: string,
  value: string
): void {
  const reply = (ctx as unknown as { reply?: Partial<FastifyReplyLike> }).reply
  if (reply !== undefined && typeof reply.header === 'function') {
    if (reply.raw?.headersSent === false) {
      reply.header(lowerName, value)
      noteNative(ctx, lowerName, value)
      return
    }
  } else {
    const res = (ctx as unknown as { res?: Partial<NodeResponseLike> }).res
    if (res !== undefined && typeof res.setHeader === 'function' && res.headersSent === false) {
      res.setHeader(name, value)
      noteNative(ctx, lowerName, value)
      return
    }
  }
  ctx.setHeader(name, value)
}
