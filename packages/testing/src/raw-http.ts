/**
 * Raw HTTP over TCP, for tests that must send bytes no HTTP client would (hostile framing, junk
 * headers) and read exactly what the server answered.
 */
import { connect } from 'node:net'

/** One response as read off the socket (header names lower-cased). */
export interface RawResponse {
  /** The status code, or 0 when the connection closed without a response head. */
  status: number
  headers: Record<string, string>
  /** The body (UTF-8), or every byte received (latin1) when there was no head. */
  body: string
}

/**
 * Sends `bytes` to 127.0.0.1:`port` (the request should say `Connection: close`) and reads one
 * response until the server closes. Rejects when nothing comes back within `timeoutMs` (a hang).
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
      const end = raw.indexOf('\r\n\r\n')
      if (end === -1) {
        resolve({ status: 0, headers: {}, body: raw.toString('latin1') })
        return
      }
      const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const length = Number(headers['content-length'] ?? raw.length - end - 4)
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: raw.subarray(end + 4, end + 4 + length).toString('utf8'),
      })
    })
    socket.write(bytes, () => socket.end())
  })
}
