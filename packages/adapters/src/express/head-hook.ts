/**
 * @module express/head-hook
 * The head hook under Express, installed once on Express's shared response prototype instead of
 * on every response object.
 *
 * Express swaps the prototype of every response (`Object.setPrototypeOf(res, app.response)`), and
 * V8 then makes each new own property on that response object costly (about 2 µs each, measured
 * in bench/protocol; the same write on a plain `ServerResponse` costs about 50 ns). The
 * per-response `res.writeHead = ...` of the other Node adapters would pay that on every request,
 * so under Express `writeHead` is defined once on the object just above `ServerResponse.prototype`
 * in the response's chain: Express's own `response` object, which every app's `app.response`
 * (mounted sub-apps included) inherits from. It finds the request's contexts in a WeakMap and
 * does nothing for a response without one.
 */
import { ServerResponse } from 'node:http'
import { headNotWritten } from '../shared/node-context.js'

type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse

/**
 * Every copy of this package loaded in the process (two versions installed side by side, a module
 * loaded again by a dev server's reload or a test runner's `resetModules`) shares one hook per
 * prototype AND one waiting list, both found by registered symbols: the copy that hooks first
 * reads the list every later copy registers in. With a list per copy, a later copy's contexts
 * never saw their head (no middleware headers, no `onHeaders`, `await next()` only at the close).
 * A copy also calls the other copies' contexts, so an entry's `onHead(res, args)` / `headDone()`
 * are a contract between versions: a change to them takes new symbols (`.v2` …), whose hook then
 * chains onto the older one's instead of sharing it.
 */
const HOOKED = Symbol.for('@aikit/adapters.express.headHook.v1')
const WAITING = Symbol.for('@aikit/adapters.express.headWaiting.v1')

/**
 * A request's context as the hook calls it (any copy's `NodeContext`). `headFailed` is optional:
 * a copy older than it is called `headDone` instead, as before.
 */
interface HeadWaiter {
  onHead(res: ServerResponse, args: unknown[]): void
  headDone(): void
  headFailed?(): void
}

/**
 * The contexts waiting for each response's head: one per request, which every `toExpress` it
 * passes through shares (index.ts); several only if a later layer could not find it again (user
 * code replaced `res.locals`, or another copy of this package built it).
 */
const waiting = sharedWaitingList()

function sharedWaitingList(): WeakMap<ServerResponse, HeadWaiter | HeadWaiter[]> {
  const g = globalThis as Record<symbol, WeakMap<ServerResponse, HeadWaiter | HeadWaiter[]>>
  let list = g[WAITING]
  if (list === undefined) {
    list = new WeakMap()
    g[WAITING] = list
  }
  return list
}

/** Express's shared response prototype in `res`'s chain, or undefined (not an Express response). */
export function expressResponsePrototype(res: ServerResponse): object | undefined {
  let proto: object | null = Object.getPrototypeOf(res) as object | null
  if (proto === ServerResponse.prototype) return undefined
  while (proto !== null) {
    const parent = Object.getPrototypeOf(proto) as object | null
    if (parent === ServerResponse.prototype) return proto
    proto = parent
  }
  return undefined
}

/** The head hook over `prev` (the `writeHead` it replaces). */
function headHook(prev: WriteHead): WriteHead {
  return function writeHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    const ctxs = waiting.get(this)
    if (ctxs === undefined) return prev.apply(this, args)
    waiting.delete(this)
    const message = this.statusMessage
    let written: ServerResponse
    try {
      if (Array.isArray(ctxs)) {
        // The innermost layer first, as chained per-response hooks would run.
        for (let i = ctxs.length - 1; i >= 0; i--) ctxs[i]!.onHead(this, args)
      } else ctxs.onHead(this, args)
      written = prev.apply(this, args)
    } catch (error) {
      if (this.headersSent) headDone(ctxs)
      else {
        // Nothing went out (Node refused the head): the contexts wait for the next one.
        if (Array.isArray(ctxs)) for (const ctx of ctxs) headNotWritten(this, message, ctx)
        else headNotWritten(this, message, ctxs)
        waiting.set(this, ctxs)
      }
      throw error
    }
    headDone(ctxs)
    return written
  }
}

function headDone(ctxs: HeadWaiter | HeadWaiter[]): void {
  if (Array.isArray(ctxs)) for (const ctx of ctxs) ctx.headDone()
  else ctxs.headDone()
}

function hook(proto: object): void {
  const prev = (proto as { writeHead: WriteHead }).writeHead
  Object.defineProperty(proto, 'writeHead', {
    configurable: true,
    writable: true,
    value: headHook(prev),
  })
  Object.defineProperty(proto, HOOKED, { value: true })
}

/** Hooks `proto` (from `expressResponsePrototype(res)`) once and registers `ctx` for `res`'s head. */
export function hookExpressHead(proto: object, res: ServerResponse, ctx: HeadWaiter): void {
  if (!Object.hasOwn(proto, HOOKED)) {
    hook(proto)
    // A middleware mounted before the kit that wrapped this response's `writeHead` the way
    // on-headers does (morgan, compression, express-session) took the prototype's method before
    // it was hooked: on this first request its wrapper would call Node's `writeHead` past the
    // hook. This response is hooked on the instance too, this once (later responses' wrappers
    // take the hooked method).
    if (Object.hasOwn(res, 'writeHead')) {
      const own = res as unknown as { writeHead: WriteHead }
      own.writeHead = headHook(own.writeHead)
    }
  }
  const existing = waiting.get(res)
  if (existing === undefined) waiting.set(res, ctx)
  else if (Array.isArray(existing)) existing.push(ctx)
  else waiting.set(res, [existing, ctx])
}
