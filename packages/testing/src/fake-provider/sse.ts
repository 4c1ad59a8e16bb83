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
 * Stops quietly when the client goes away; honours a pending `breakStreamAfter` by
 * destroying the socket after that many events, a pending `holdStreamAfter` by waiting
 * (after that many events) until it is released, and a pending `errorStreamAfter` by sending
 * `errorEvent(message)` after that many events and ending the response.
 */
export async function writeSse(
  res: ServerResponse,
  state: ControlState,
  call: RecordedCall,
  events: readonly SseEvent[],
  headers: Record<string, string> = {},
  errorEvent?: (message: string) => SseEvent
): Promise<void> {
  const breakAfter = state.takeBreak()
  const hold = state.takeHold()
  const streamError = state.takeStreamError()
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  })
  call.status = 200
  res.flushHeaders()
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && state.streamDelayMs > 0) await state.sleep(state.streamDelayMs)
    if (res.destroyed || res.writableEnded) return
    if (breakAfter !== undefined && i >= breakAfter) {
      call.broken = true
      res.socket?.destroy()
      res.destroy()
      return
    }
    if (hold !== undefined && i === hold.after) {
      hold.reached()
      await Promise.race([hold.released, closed(res)])
      if (res.destroyed || res.writableEnded) return
    }
    if (streamError !== undefined && errorEvent !== undefined && i === streamError.after) {
      res.end(formatSse(errorEvent(streamError.message)))
      return
    }
    const chunk = formatSse(events[i] as SseEvent)
    // Before a planned drop or hold, wait until each chunk is flushed so the client really sees it.
    if (breakAfter === undefined && hold === undefined) res.write(chunk)
    else await flushed(res, chunk)
  }
  hold?.reached()
  res.end()
}

function closed(res: ServerResponse): Promise<void> {
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
