/**
 * @module shared/queued-close
 * Tells the Contexts of pipelined requests that wait behind another response when their client
 * leaves. Node gives such a response no socket until the responses before it are done; when the
 * socket closes it destroys their requests (a request whose body was already read emits nothing
 * then) and never emits 'close' on the queued responses. So the socket is watched: one 'close'
 * listener per socket, added the first time one of its queued responses is watched, serves every
 * queued Context of that connection (a keep-alive socket serving many requests never collects
 * more listeners).
 *
 * The waiting callbacks are a short array, dropped as soon as it is empty (at most the pipelining
 * depth; usually every queued response ends before the next batch arrives), not a `Set` kept on
 * the socket: a keep-alive socket lives in V8's old space, and a `Set` there that gains and loses
 * a callback per queued response (each holding its Context) made the young generation's objects
 * survive into old space: a full mark-compact every ~20k pipelined requests on Fastify (one per
 * 150k without it) and ~40% more instructions per request (valgrind).
 */
import type { Socket } from 'node:net'

const WAITING = Symbol('@aikit/adapters.queued-close')
const WATCHED = Symbol('@aikit/adapters.queued-close.watched')

type WatchedSocket = Socket & { [WAITING]?: (() => void)[] | undefined; [WATCHED]?: true }

/** The socket's 'close' listener: calls every callback still waiting. */
function onClose(this: WatchedSocket): void {
  const fns = this[WAITING]
  if (fns === undefined) return
  this[WAITING] = undefined
  for (const fn of fns) fn()
}

/** Calls `fn` once when `socket` closes, unless `offSocketClose` removed it first. */
export function onSocketClose(socket: Socket, fn: () => void): void {
  const s = socket as WatchedSocket
  if (s[WATCHED] === undefined) {
    s[WATCHED] = true
    socket.once('close', onClose)
  }
  const waiting = s[WAITING]
  if (waiting === undefined) s[WAITING] = [fn]
  else waiting.push(fn)
}

/** Removes a callback added with `onSocketClose` (the response got the socket, or ended). */
export function offSocketClose(socket: Socket, fn: () => void): void {
  const s = socket as WatchedSocket
  const waiting = s[WAITING]
  if (waiting === undefined) return
  const i = waiting.indexOf(fn)
  if (i === -1) return
  if (waiting.length === 1) s[WAITING] = undefined
  else waiting.splice(i, 1)
}
