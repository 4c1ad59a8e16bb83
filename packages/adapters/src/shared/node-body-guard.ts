/**
 * @module shared/node-body-guard
 * Watches a Node request body on the wire, whoever reads it (`ctx.json()`, body-parser, Fastify's
 * parser, or a handler reading `req` itself):
 *
 * - counts the bytes as Node's HTTP parser pushes them into `req` (the `push` of this request
 *   object is wrapped, nothing is buffered): past the limit, 413 with `Connection: close`, and the
 *   socket stops being read;
 * - 408 when no byte came for `timeoutMs` while `req` was asking for more (its buffer below the
 *   high-water mark: a route that simply has not read yet holds the data back itself, that is
 *   not a stall; nor is a client waiting for the `100 Continue` that goes out when the body is
 *   read): the client gets a whole period from when it could send;
 * - 400 when the client half-closes before the body is complete (`Content-Length: 5000` and 100
 *   bytes, then FIN). Node's `http.Server` is `allowHalfOpen`, so the socket is still writable
 *   when its 'end' arrives; this guard's listener runs before Node's own (prepended), answers
 *   with the kit's JSON 400 and ends the socket's writable side, and Node, finding the head
 *   sent, then only destroys the socket instead of writing its bare `HTTP/1.1 400 Bad Request`
 *   (nor can a framework's `clientError` handler, such as Fastify's, write its own).
 *
 * The answer goes through the Context (`fail` + `commit`), so middleware headers (security
 * headers) are on it. After the head was written a failure can only destroy the response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { type AikitError, InvalidRequestError, PayloadTooLargeError } from '@aikit/core'
import { RequestTimeoutError } from '@aikit/core/adapter'
import { awaitingContinue } from './expect-continue.js'

/** What the guard needs from the Context. */
export interface GuardedContext {
  readonly headersSent: boolean
  fail(error: unknown): void
  commit(): Promise<void> | undefined
}

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean

export class NodeBodyGuard {
  /** Raw (encoded) body bytes received since the guard was installed. */
  received: number
  /** Why the body failed, once it did. */
  failure: AikitError | undefined = undefined
  private maxBytes: number
  private timeoutMs: number
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private listeners: ((error: AikitError) => void)[] = []
  private done = false
  /** The last idle check found the buffer full (the route, not the client, held the body). */
  private heldBack = false
  private readonly socket: Socket | null

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly ctx: GuardedContext,
    maxBytes: number,
    timeoutMs: number
  ) {
    this.maxBytes = maxBytes
    this.timeoutMs = timeoutMs
    this.received = req.readableLength
    this.socket = req.socket
    if (req.complete || this.socket === null || this.socket.destroyed) {
      this.done = true
      return
    }
    const push = req.push as Push
    const guard = this
    ;(req as unknown as { push: Push }).push = function guardedPush(chunk, encoding) {
      if (chunk === null) {
        guard.stop()
        // A refused body never ends as if it were whole: a reader that took its first bytes would
        // take them for all of it (and answer again behind the kit's 4xx). Its reads are left
        // waiting, as for a body that stopped coming: failing them (`req.destroy(error)`) would
        // reject an Express 4 async route's read with no one to catch it, which ends the process.
        if (guard.failure !== undefined) return false
        return push.call(this, chunk, encoding)
      }
      if (guard.failure !== undefined) return false // dropped; false stops reading the socket
      guard.onBytes(
        typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength
      )
      if (guard.failure !== undefined) return false
      return push.call(this, chunk, encoding)
    }
    this.socket.prependListener('end', this.onSocketEnd)
    res.once('close', this.stop)
    this.arm()
  }

  /** Applies a (new) limit and timeout; bytes already counted stay counted. */
  update(maxBytes: number, timeoutMs: number): void {
    this.maxBytes = maxBytes
    this.timeoutMs = timeoutMs
    if (this.done) return
    if (this.received > maxBytes) {
      this.trip(new PayloadTooLargeError(maxBytes))
      return
    }
    this.arm()
  }

  /** Calls `fn` with the failure when (or if already) the body fails. */
  onFail(fn: (error: AikitError) => void): void {
    if (this.failure !== undefined) fn(this.failure)
    else this.listeners.push(fn)
  }

  offFail(fn: (error: AikitError) => void): void {
    const i = this.listeners.indexOf(fn)
    if (i !== -1) this.listeners.splice(i, 1)
  }

  private onBytes(n: number): void {
    this.received += n
    if (this.received > this.maxBytes) {
      this.trip(new PayloadTooLargeError(this.maxBytes))
      return
    }
    this.heldBack = false
    this.timer?.refresh()
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.timeoutMs <= 0 || this.done) return
    this.timer = setTimeout(this.onIdle, this.timeoutMs)
    this.timer.unref?.()
  }

  private readonly onIdle = (): void => {
    if (this.done) return
    const req = this.req
    if (req.readableLength >= req.readableHighWaterMark || awaitingContinue(this.res)) {
      // Nobody read what came, or the client waits for its 100 (sent when something reads): the
      // route holds the body back, not the client.
      this.heldBack = true
      this.timer?.refresh()
      return
    }
    if (this.heldBack) {
      // The route started reading within the last period: the client gets a full one from now.
      this.heldBack = false
      this.timer?.refresh()
      return
    }
    this.trip(new RequestTimeoutError(this.timeoutMs))
  }

  private readonly onSocketEnd = (): void => {
    if (this.done || this.req.complete) return
    this.trip(
      new InvalidRequestError('The request body ended before it was complete', {
        details: { receivedBytes: this.received },
      })
    )
    this.endAfterAnswer()
  }

  /**
   * Once the 400 is on the socket, ends its writable side (the client half-closed: nothing more
   * will come). Node's handler that runs next writes nothing after a response (it checks
   * `bytesWritten`), but a framework's `clientError` handler may check only `socket.writable`:
   * Fastify's would write its own raw 400 behind the kit's, a second response to one request.
   * A response still queued behind another (pipelining) or not written yet is left alone.
   */
  private endAfterAnswer(): void {
    const socket = this.socket
    const res = this.res
    if (socket === null || !res.writableEnded || res.socket !== socket || !socket.writable) return
    socket.end()
  }

  private trip(error: AikitError): void {
    if (this.failure !== undefined) return
    this.failure = error
    this.stop()
    const listeners = this.listeners
    this.listeners = []
    for (const fn of listeners) fn(error)
    const res = this.res
    if (this.ctx.headersSent || res.headersSent || res.writableEnded) {
      res.destroy()
      return
    }
    // Unread bytes must not be parsed as a next request: close the connection after the answer.
    res.setHeader('connection', 'close')
    this.ctx.fail(error)
    void this.ctx.commit()
  }

  private readonly stop = (): void => {
    if (this.done) return
    this.done = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.socket?.off('end', this.onSocketEnd)
    this.res.off('close', this.stop)
  }
}
