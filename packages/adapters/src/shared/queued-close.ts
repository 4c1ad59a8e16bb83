/**
 * @module shared/queued-close
 * Tells the Contexts of pipelined requests that wait behind another response when their client
 * leaves. Node gives such a response no socket until the responses before it are done; when the
 * socket closes it destroys their requests (a request whose body was already read emits nothing
 * then) and never emits 'close' on the queued responses. So the socket is watched: one 'close'
 * listener per socket, added the first time one of its queued responses is watched, serves every
 * queued Context of that connection (a keep-alive socket serving many requests never collects
 * more listeners).
 */
import type { Socket } from 'node:net'

const WAITING = Symbol('@aikit/adapters.queued-close')

type WatchedSocket = Socket & { [WAITING]?: Set<() => void> }

/** Calls `fn` once when `socket` closes, unless `offSocketClose` removed it first. */
export function onSocketClose(socket: Socket, fn: () => void): void {
  const s = socket as WatchedSocket
  let waiting = s[WAITING]
  if (waiting === undefined) {
    const set = new Set<() => void>()
    waiting = set
    s[WAITING] = set
    socket.once('close', () => {
      const fns = [...set]
      set.clear()
      for (const f of fns) f()
    })
  }
  waiting.add(fn)
}

/** Removes a callback added with `onSocketClose` (the response got the socket, or ended). */
export function offSocketClose(socket: Socket, fn: () => void): void {
  ;(socket as WatchedSocket)[WAITING]?.delete(fn)
}
