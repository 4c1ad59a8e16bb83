/**
 * A raw TCP client for the attack-table rows that need framing no HTTP client sends: a length
 * that lies, a body that never ends or stalls, both `Content-Length` and `Transfer-Encoding`,
 * headers with bare CR, headers over 16 KiB. It reads every response the server writes on the
 * connection and tells whether the server closed it.
 */
import { connect, type Socket } from 'node:net'

/** One response read off the wire (header names lower-cased). */
export interface WireResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export interface WireResult {
  /** Every response on the connection, in order. */
  responses: WireResponse[]
  /** The server closed (or reset) the connection before the client ended it. */
  closedByServer: boolean
  /** Body bytes the client managed to hand to the socket. */
  sent: number
}

export interface WireOptions {
  /** The request head (request line and headers, without the blank line). */
  head: string
  /** Bytes sent right after the head. */
  body?: string | Buffer
  /**
   * More body, written with backpressure until the server answers or closes, or `limit` bytes
   * went out. `chunked` frames each piece as an HTTP/1.1 chunk.
   */
  stream?: {
    chunk: Buffer
    limit: number
    chunked?: boolean
    onChunk?: () => void
    /** Start only once the first response has arrived (an excess after an answered request). */
    afterFirstResponse?: boolean
  }
  /** What the client does after writing: keep the connection open (default) or half-close it. */
  after?: 'wait' | 'end'
  /** Resolve once this many complete responses arrived (default: when the connection closes). */
  responses?: number
  /** Give up (reject) after this many ms without the expected outcome. */
  timeoutMs?: number
}

/** Sends one hand-framed request to `base` (`http://127.0.0.1:port`) and collects the outcome. */
export function wire(base: string, o: WireOptions): Promise<WireResult> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(url.port), url.hostname)
    let raw = Buffer.alloc(0)
    let sent = 0
    let finished = false
    let clientEnded = false
    const timer = setTimeout(() => {
      finish(new Error(`no outcome within ${o.timeoutMs ?? 5000} ms`))
    }, o.timeoutMs ?? 5000)
    const finish = (error?: Error, closedByServer = false): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      socket.destroy()
      if (error !== undefined) reject(error)
      else resolve({ responses: parseResponses(raw), closedByServer, sent })
    }
    let pumping = false
    socket.on('data', (d: Buffer) => {
      raw = Buffer.concat([raw, d])
      const count = parseResponses(raw).length
      if (o.responses !== undefined && count >= o.responses) finish()
      else if (!pumping && count > 0 && o.stream?.afterFirstResponse) startPump()
    })
    socket.on('error', () => finish(undefined, !clientEnded))
    socket.on('end', () => finish(undefined, !clientEnded))
    socket.on('close', () => finish(undefined, !clientEnded))
    socket.write(`${o.head}\r\n\r\n`)
    if (o.body !== undefined) {
      socket.write(o.body)
      sent += Buffer.byteLength(o.body)
    }
    const stream = o.stream
    const done = (): void => {
      if (o.after === 'end') {
        clientEnded = true
        socket.end()
      }
    }
    if (stream === undefined) {
      done()
      return
    }
    const startPump = (): void => {
      pumping = true
      pump()
    }
    const pump = (): void => {
      while (!finished && sent < stream.limit) {
        const piece = stream.chunked
          ? Buffer.concat([
              Buffer.from(`${stream.chunk.length.toString(16)}\r\n`),
              stream.chunk,
              Buffer.from('\r\n'),
            ])
          : stream.chunk
        sent += stream.chunk.length
        stream.onChunk?.()
        if (!socket.write(piece)) {
          socket.once('drain', pump)
          return
        }
      }
      if (!finished) done()
    }
    if (!stream.afterFirstResponse) startPump()
  })
}

/** Splits the bytes read into complete responses (Content-Length or chunked bodies). */
function parseResponses(raw: Buffer): WireResponse[] {
  const out: WireResponse[] = []
  let at = 0
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at)
    if (end === -1) return out
    const [statusLine = '', ...lines] = raw.subarray(at, end).toString('latin1').split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const status = Number(statusLine.split(' ')[1])
    let bodyStart = end + 4
    let body: Buffer
    if (headers['transfer-encoding']?.includes('chunked')) {
      const parts: Buffer[] = []
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', bodyStart)
        if (lineEnd === -1) return out
        const size = Number.parseInt(raw.subarray(bodyStart, lineEnd).toString('latin1'), 16)
        if (raw.length < lineEnd + 2 + size + 2) return out
        parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
        bodyStart = lineEnd + 2 + size + 2
        if (size === 0) break
      }
      body = Buffer.concat(parts)
    } else {
      const length = Number(headers['content-length'] ?? 0)
      if (raw.length < bodyStart + length) return out
      body = raw.subarray(bodyStart, bodyStart + length)
      bodyStart += length
    }
    out.push({ status, headers, body: body.toString('utf8') })
    at = bodyStart
  }
}
