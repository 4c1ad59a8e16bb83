import type { ServerResponse } from 'node:http'
import type { ControlState } from './control.js'
import type { RecordedCall } from './types.js'

/** One server-sent event; `event` omitted for OpenAI Chat's data-only stream. */
export interface SseEvent {
  event?: string
  /** Serialized as JSON unless already a string. */
  data: unknown
}

/** Formats one event as `event:`/`data:` lines followed by a blank line. */
export function formatSse(ev: SseEvent): string {
  const data = typeof ev.data === 'string' ? ev.data : JSON.stringify(ev.data)
  return (ev.event === undefined ? '' : `event: ${ev.event}\n`) + `data: ${data}\n\n`
}

/**
 * Streams `events` as `text/event-stream`, waiting `state.streamDelayMs` between events.
 * Stops quietly when the client goes away. A pending `breakStreamAfter(n)` destroys the socket
 * after `n` events, a pending `holdStreamAfter(n)` waits (after `n` events) until it is released,
 * and a pending `errorStreamAfter(n)` sends `errorEvent(message, n)` (`n`: the index the error
 * event takes in the stream) after `n` events and ends the response. An `n` equal to or beyond
 * the number of events applies after the last event: the response is dropped, held before it
 * ends, or ends with the error event. A pending `endStreamAfter(n)` ends the response cleanly
 * after `n` events.
 */
export async function writeSse(
  res: ServerResponse,
  state: ControlState,
  call: RecordedCall,
  events: readonly SseEvent[],
  headers: Record<string, string> = {},
  errorEvent?: (message: string, index: number) => SseEvent
): Promise<void> {
  const breakAfter = state.takeBreak()
  const hold = state.takeHold()
  const streamError = state.takeStreamError()
  const endAfter = state.takeEnd()
  /** Where a "after n events" plan applies: n, or after the last event when n is beyond it. */
  const at = (n: number | undefined) => (n === undefined ? -1 : Math.min(n, events.length))
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  })
  call.status = 200
  res.flushHeaders()
  // Position `i` is "after i events"; position `events.length` is after the last one.
  for (let i = 0; i <= events.length; i++) {
    const event = events[i]
    const errorHere = errorEvent !== undefined && i === at(streamError?.after)
    const sends = event !== undefined || errorHere
    if (sends && i > 0 && state.streamDelayMs > 0) await state.sleep(state.streamDelayMs)
    if (res.destroyed || res.writableEnded) return
    if (breakAfter !== undefined && i >= at(breakAfter)) {
      call.broken = true
      res.socket?.destroy()
      res.destroy()
      return
    }
    if (hold !== undefined && i === at(hold.after)) {
      hold.reached()
      await Promise.race([hold.released, closed(res)])
      if (res.destroyed || res.writableEnded) return
    }
    if (errorHere && streamError !== undefined) {
      res.end(formatSse(errorEvent(streamError.message, i)))
      return
    }
    if (event === undefined || i === at(endAfter)) break
    const chunk = formatSse(event)
    // Before a planned drop or hold, wait until each chunk is flushed so the client really sees it.
    if (breakAfter === undefined && hold === undefined) res.write(chunk)
    else await flushed(res, chunk)
  }
  // A hold with a negative count never applied: it still reports the stream reached it.
  hold?.reached()
  res.end()
}

/** Resolves when the response is gone (finished or destroyed). */
export function closed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) resolve()
    else res.once('close', () => resolve())
  })
}

function flushed(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => {
    res.once('close', resolve)
    res.write(chunk, () => {
      res.off('close', resolve)
      resolve()
    })
  })
}
