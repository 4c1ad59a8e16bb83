/**
 * @module headers-native
 * Fast paths for headers under the Node adapters. Their contexts expose the framework's response:
 * Fastify's `reply` (`FastifyContext.reply`) and the native `ServerResponse` (`NodeContext.res`,
 * node:http and Express). A header put there before `next()` stays on every response the adapter
 * or the framework writes (the kit's JSON errors included), like helmet's, and costs less than
 * `ctx.setHeader`, which keeps a pending entry and copies it when the head is written
 * (bench/security/headers.mjs measures it). On Fastify, `reply.header()` also keeps Node on its
 * fast `writeHead(status, headers)` path, which any `res.setHeader` call leaves. The Web path
 * (Next) has neither and uses `ctx.setHeader`.
 */
import type { Context } from '@aikit/core'

/** Sets one response header. */
export type HeaderSink = { set(name: string, value: string): void }

interface FastifyReplyLike {
  header(name: string, value: string): unknown
  raw: { headersSent: boolean }
}

interface NodeResponseLike {
  setHeader(name: string, value: string): unknown
  removeHeader(name: string): void
  headersSent: boolean
}

/** The Fastify reply, when the adapter is Fastify and the head is not written. */
function fastifyReply(ctx: Context): FastifyReplyLike | undefined {
  const reply = (ctx as unknown as { reply?: Partial<FastifyReplyLike> }).reply
  if (
    reply === undefined ||
    typeof reply.header !== 'function' ||
    reply.raw?.headersSent !== false
  ) {
    return undefined
  }
  return reply as FastifyReplyLike
}

/** The request's native Node response when the adapter exposes one and its head is not written. */
export function nativeResponse(ctx: Context): NodeResponseLike | undefined {
  const res = (ctx as unknown as { res?: Partial<NodeResponseLike> }).res
  if (
    res === undefined ||
    typeof res.setHeader !== 'function' ||
    typeof res.removeHeader !== 'function' ||
    res.headersSent !== false
  ) {
    return undefined
  }
  return res as NodeResponseLike
}

/** What the Node adapters' contexts offer to record headers set natively (see `NodeContext`). */
interface NotingContext {
  noteNativeHeaders?: (list: Pick<HeaderList, 'lowerNames' | 'values'>) => void
  noteNativeHeader?: (lowerName: string, value: string) => void
}

/**
 * Tells the adapter's context which headers were put straight on the native response, so that a
 * later `ctx.setHeader` of one of them still replaces it (last writer wins, as on the Web path).
 */
function noteNativeList(ctx: Context, list: HeaderList): void {
  const c = ctx as unknown as NotingContext
  if (typeof c.noteNativeHeaders === 'function') c.noteNativeHeaders(list)
}

/** `noteNativeList` for one header; `lowerName` in lower case. */
function noteNativeHeader(ctx: Context, lowerName: string, value: string): void {
  const c = ctx as unknown as NotingContext
  if (typeof c.noteNativeHeader === 'function') c.noteNativeHeader(lowerName, value)
}

/** Header names and values prepared once for `setHeaderList`. */
export interface HeaderList {
  readonly names: readonly string[]
  /** The names in lower case, as they are set on Fastify and Node responses (see setHeaderList). */
  readonly lowerNames: readonly string[]
  readonly values: readonly string[]
}

/** Prepares `names[i]: values[i]` for `setHeaderList`. */
export function headerList(names: readonly string[], values: readonly string[]): HeaderList {
  return { names, lowerNames: names.map((n) => n.toLowerCase()), values }
}

/**
 * Sets a prepared header list through the cheapest path the adapter offers, then, when
 * `removePoweredBy`, removes `X-Powered-By` from the native Node response (Express sets it before
 * any middleware runs). One look-up of the adapter's objects per request.
 */
export function setHeaderList(ctx: Context, list: HeaderList, removePoweredBy: boolean): void {
  const reply = fastifyReply(ctx)
  const res = nativeResponse(ctx)
  const values = list.values
  const n = values.length
  if (reply !== undefined) {
    const names = list.lowerNames
    for (let i = 0; i < n; i++) reply.header(names[i]!, values[i]!)
    noteNativeList(ctx, list)
  } else if (res !== undefined) {
    // Lower-case names here too: Node keys its header map by the lower-cased name, and one
    // already in lower case costs no new string (see setStaticHeaders in adapters' Express).
    const names = list.lowerNames
    for (let i = 0; i < n; i++) res.setHeader(names[i]!, values[i]!)
    noteNativeList(ctx, list)
  } else {
    const names = list.names
    for (let i = 0; i < n; i++) ctx.setHeader(names[i]!, values[i]!)
  }
  if (removePoweredBy && res !== undefined) res.removeHeader('X-Powered-By')
}

/** Sets one header through the cheapest path the adapter offers. */
export function setHeader(ctx: Context, name: string, value: string): void {
  const reply = fastifyReply(ctx)
  if (reply !== undefined) reply.header(name, value)
  else {
    const res = nativeResponse(ctx)
    if (res === undefined) {
      ctx.setHeader(name, value)
      return
    }
    res.setHeader(name, value)
  }
  noteNativeHeader(ctx, name.toLowerCase(), value)
}
