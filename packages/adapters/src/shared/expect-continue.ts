/**
 * @module shared/expect-continue
 * `Expect: 100-continue` on Node: the 100 goes out when the body is about to be read, never for a
 * request refused from its head, and the body guard does not count the wait for it as a stall.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * Node's own bookkeeping for `Expect: 100-continue` on a `ServerResponse` (not in its docs, but
 * what its `writeHead` has read since Node 0.x to close a connection whose client expected a 100
 * it never got): `_expect_continue` is set when the parser saw the expectation on an HTTP/1.1
 * request, `_sent100` by `writeContinue()`. Neither is set on an `app.inject()` response, nor on
 * an HTTP/2 one (whose server sends its own 100): nothing is sent there.
 */
interface ContinueState {
  _expect_continue?: boolean
  _sent100?: boolean
}

/**
 * Sends `HTTP/1.1 100 Continue` when the client expects it (`Expect: 100-continue`) and neither
 * it nor a final head went out yet: for a body that is about to be read (RFC 9110 §10.1.1: a
 * server that reads the body sends the 100 first; one that refuses from the head answers without
 * it, and Node then closes the connection). Node sends it itself on receipt unless the server has
 * a 'checkContinue' listener, so this only sends something on such a server (see the adapters'
 * docs); on any other it finds the 100 sent.
 */
export function sendContinue(res: ServerResponse): void {
  const state = res as ServerResponse & ContinueState
  if (state._expect_continue !== true || state._sent100 === true) return
  if (res.headersSent || res.writableEnded || res.destroyed) return
  res.writeContinue()
}

type Read = (this: IncomingMessage, size: number) => void

/**
 * Sends the 100 (see `sendContinue`) once something starts reading `req`, whoever it is: every
 * reader (`'data'`, `pipe`, `read()`, async iteration) makes the stream call `_read` first. For a
 * request the kit may never see (a Fastify route outside the plugin's scope). Nothing happens
 * when the response was written first (Node's own `_dump` of an unread body after the response).
 */
export function sendContinueOnRead(req: IncomingMessage, res: ServerResponse): void {
  const target = req as unknown as { _read: Read }
  const own = Object.hasOwn(req, '_read')
  const read = target._read
  target._read = function continueThenRead(this: IncomingMessage, size: number): void {
    if (own) target._read = read
    else delete (target as { _read?: Read })._read
    sendContinue(res)
    read.call(this, size)
  }
}

/**
 * Whether the client is still waiting for a `100 Continue` before it sends its body (nothing was
 * answered yet): the body's absence is then the server's doing, not a stalled client.
 */
export function awaitingContinue(res: ServerResponse): boolean {
  const state = res as ServerResponse & ContinueState
  return state._expect_continue === true && state._sent100 !== true && !res.headersSent
}
