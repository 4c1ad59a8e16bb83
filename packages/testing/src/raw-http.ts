/**
 * Raw HTTP over TCP, for tests that must send bytes no HTTP client would (hostile framing, junk
 * headers) and read exactly what the server answered.
 */
import { connect } from 'node:net'

/** One response as read off the socket. */
export interface RawResponse {
  /** The final response's status code, or 0 when the connection closed without a final head. */
  status: number
  /**
   * Header values by lower-cased name. A header sent more than once (two `Set-Cookie`, a doubled
   * `Content-Length`) has every value, in order, joined with `', '`; see `rawHeaders` to tell
   * them apart.
   */
  headers: Record<string, string>
  /** Every header line of the final response in order, as `[name, value]` (name as sent). */
  rawHeaders: Array<[name: string, value: string]>
  /**
   * The body (UTF-8) as sent, chunked framing included, or every byte received (latin1) when
   * there was no final head.
   */
  body: string
}

const HEAD_END = Buffer.from('\r\n\r\n')

/** Parses a response head (status line and header lines, without the blank line). */
function parseHead(head: string): Pick<RawResponse, 'status' | 'headers' | 'rawHeaders'> {
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  const rawHeaders: RawResponse['rawHeaders'] = []
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    rawHeaders.push([name, value])
    const key = name.toLowerCase()
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value
  }
  return { status: Number(statusLine.split(' ')[1]), headers, rawHeaders }
}

/**
 * Sends `bytes` to 127.0.0.1:`port` (the request should say `Connection: close`) and reads one
 * response until the server closes. Interim `1xx` responses (`100 Continue`, `103 Early Hints`)
 * are skipped: the result is the final response (`101 Switching Protocols` is final). Rejects
 * when nothing comes back within `timeoutMs` (a hang; default 5000).
 */
export function rawRequest(
  port: number,
  bytes: Uint8Array,
  timeoutMs = 5000
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no response within ${timeoutMs} ms (hang)`))
    }, timeoutMs)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {
      // The server may close after answering while we still write a body it refused (413).
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const raw = Buffer.concat(chunks)
      let start = 0
      for (;;) {
        const end = raw.indexOf(HEAD_END, start)
        if (end === -1) {
          resolve({ status: 0, headers: {}, rawHeaders: [], body: raw.toString('latin1') })
          return
        }
        const head = parseHead(raw.subarray(start, end).toString('latin1'))
        const bodyStart = end + HEAD_END.length
        if (head.status >= 100 && head.status < 200 && head.status !== 101) {
          start = bodyStart // an interim response has no body: the next head follows
          continue
        }
        // The first Content-Length counts (a doubled one shows in `headers` / `rawHeaders`);
        // without a usable one, the body is everything up to the close.
        const declared = head.rawHeaders.find(([n]) => n.toLowerCase() === 'content-length')?.[1]
        const counted = declared === undefined || declared === '' ? Number.NaN : Number(declared)
        const length = counted >= 0 ? counted : raw.length - bodyStart
        resolve({ ...head, body: raw.subarray(bodyStart, bodyStart + length).toString('utf8') })
        return
      }
    })
    socket.write(bytes, () => socket.end())
  })
}
