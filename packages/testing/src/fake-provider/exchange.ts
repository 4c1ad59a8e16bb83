import type { ServerResponse } from 'node:http'
import type { ControlState } from './control.js'
import type { RecordedCall } from './types.js'

/** Everything a protocol handler needs to answer one request. */
export interface Exchange {
  readonly res: ServerResponse
  readonly call: RecordedCall
  /** Parsed JSON body (already checked to be an object). */
  readonly body: Record<string, unknown>
  readonly state: ControlState
}

/** Sends a JSON response and records its status. */
export function sendJson(
  x: Exchange,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {}
): void {
  x.call.status = status
  x.res.writeHead(status, { 'content-type': 'application/json', ...headers })
  x.res.end(JSON.stringify(payload))
}

/** Seconds since the epoch, as OpenAI's `created` fields use. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
