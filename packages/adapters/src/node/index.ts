/**
 * @module @aikit/adapters/node
 * Runs AI Kit middleware in a plain `node:http` (or `node:https`) server.
 *
 * ```ts
 * import { createServer } from 'node:http'
 * import { toNodeHandler } from '@aikit/adapters/node'
 *
 * createServer(toNodeHandler(requestId(), rateLimit(...), { handler: (req, res) => res.end('hi') }))
 * ```
 *
 * `Expect: 100-continue`: Node answers `100 Continue` on receipt, before the middleware run, so a
 * client is told to upload a body that bodyLimit(), csrf() or rateLimit() then refuse. Route the
 * server's 'checkContinue' event to the same handler and the 100 goes out only when the body is
 * read (`ctx.json()`) or the request reaches `handler`; a refusal comes without it:
 *
 * ```ts
 * const handle = toNodeHandler(bodyLimit({ maxBytes: 1 << 20 }), { handler })
 * const server = createServer(handle)
 * server.on('checkContinue', handle)
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type BodyLimits, InvalidOptionsError, type Middleware } from '@aikit/core'
import { type AdapterOptions, resolveAdapterOptions, runChain } from '@aikit/core/adapter'
import { splitArgs } from '../shared/args.js'
import { sendContinue } from '../shared/expect-continue.js'
import { NodeContext } from '../shared/node-context.js'

export { NodeContext } from '../shared/node-context.js'

/** The final handler a request reaches after every middleware called `next()`. */
export type NodeRequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown

/** Options of `toNodeHandler`: the adapter options plus the final handler. */
export interface NodeHandlerOptions extends AdapterOptions {
  /**
   * The app's own handler, run when the chain calls `next()`. `currentContext()` works inside it.
   * When a middleware read the body through `ctx.json()` (a body-dependent `rateLimit` `cost`, a
   * prompt guard), the request stream is consumed: the parsed JSON is on `req.body`, as Express
   * leaves it, and listening for the stream's `'end'` would wait forever.
   * `next()` resolves once it writes the head. If it throws (or its promise rejects) before the
   * head, the middleware see the error and the client gets the JSON error response; after the
   * head, the error goes to `onError` and the response is destroyed.
   * When omitted, a request that passes every middleware answers 404 `NOT_FOUND` (JSON).
   */
  handler?: NodeRequestHandler
}

/** `NodeHandlerOptions` keys beyond `AdapterOptions` (a record: the compiler flags one missing). */
const NODE_HANDLER_KEYS = Object.keys({
  handler: true,
} satisfies Record<Exclude<keyof NodeHandlerOptions, keyof AdapterOptions>, true>)

const NOT_FOUND_BODY = { error: { code: 'NOT_FOUND', message: 'Not found' } }
const NO_STORE = { 'cache-control': 'no-store' }

/**
 * Builds a `node:http` request listener: `toNodeHandler(...middleware, options?)`. A trailing
 * plain object is the options (`NodeHandlerOptions`); invalid options, an unknown option key (a
 * typo) or a middleware that is not a function throw `InvalidOptionsError` here, naming the field.
 * Also a 'checkContinue' listener (`server.on('checkContinue', listener)`): a request with
 * `Expect: 100-continue` then gets `100 Continue` only once its body is going to be read (see
 * the module doc), and a refusal from the head comes without it.
 */
export function toNodeHandler(
  ...args: [...Middleware[], NodeHandlerOptions] | Middleware[]
): (req: IncomingMessage, res: ServerResponse) => void {
  const { middleware, options } = splitArgs<NodeHandlerOptions>(args)
  const handler = options?.handler
  if (handler !== undefined && typeof handler !== 'function') {
    throw new InvalidOptionsError('handler', 'must be a function (req, res) => void')
  }
  const resolved = resolveAdapterOptions(options, NODE_HANDLER_KEYS)

  // One downstream for every request (runChain hands it the context): no closure per request.
  const downstream: (ctx: NodeContext) => Promise<void> =
    handler === undefined ? notFound : (ctx) => runHandler(ctx, handler, ctx.req, ctx.res)

  return function aikitNodeHandler(req: IncomingMessage, res: ServerResponse): void {
    // runChain never rejects: it settles every error itself.
    void runChain(new NodeHandlerContext(req, res, resolved), middleware, downstream)
  }
}

/** What a handler finds on `req` once a middleware read the body (Express's convention). */
interface BodyRequest extends IncomingMessage {
  body?: unknown
}

/**
 * The `toNodeHandler` context: a body read by `ctx.json()` (or replaced by a middleware through
 * `REPLACE_BODY`) is left on `req.body`, since the handler can no longer read the consumed stream.
 */
class NodeHandlerContext extends NodeContext {
  private parsed: Promise<unknown> | undefined = undefined

  override json<T = unknown>(limits?: BodyLimits): Promise<T> {
    this.parsed ??= super.json(limits).then((value) => {
      ;(this.req as BodyRequest).body = value
      return value
    })
    return this.parsed as Promise<T>
  }

  protected override onBodyReplaced(value: unknown, bytes: Uint8Array): void {
    super.onBodyReplaced(value, bytes)
    this.parsed = Promise.resolve(value)
    ;(this.req as BodyRequest).body = value
  }
}

function notFound(ctx: NodeContext): Promise<void> {
  ctx.respond(404, NOT_FOUND_BODY, NO_STORE)
  return ctx.commit() ?? Promise.resolve()
}

function runHandler(
  ctx: NodeContext,
  handler: NodeRequestHandler,
  req: IncomingMessage,
  res: ServerResponse
): Promise<void> {
  // The handler may read the body: a client waiting for `100 Continue` gets it now (a request
  // the middleware refused was answered from its head, without it).
  sendContinue(res)
  let result: unknown
  try {
    result = handler(req, res)
  } catch (error) {
    return afterHandlerError(ctx, res, error)
  }
  const head = ctx.waitForHead()
  if (
    result === null ||
    typeof result !== 'object' ||
    typeof (result as PromiseLike<unknown>).then !== 'function'
  ) {
    return head
  }
  return new Promise<void>((resolve, reject) => {
    void head.then(resolve)
    ;(result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
      afterHandlerError(ctx, res, error).then(resolve, reject)
    })
  })
}

/**
 * A handler's error, thrown or rejected. Before the head it rejects: the chain turns it into the
 * error response. After it, the error goes to `onError` and a response not ended is destroyed (a
 * half-sent response would hold the connection open forever).
 */
function afterHandlerError(ctx: NodeContext, res: ServerResponse, error: unknown): Promise<void> {
  if (!ctx.headersSent && !res.destroyed) return Promise.reject(error)
  ctx.fail(error)
  if (!res.writableEnded) res.destroy()
  return Promise.resolve()
}
