/**
 * Wire helpers for the body-limit tests: a chunked upload that stops at the first answer, and a
 * request whose body stops half-way while the socket stays open.
 */
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'

/** Streams `total` bytes chunked; resolves with the response as soon as it arrives. */
export function sendChunked(
  port: number,
  total: number,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  path = '/'
): Promise<{ status: number; body: string; connection: string | undefined; sent: number }> {
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  return new Promise((resolve, reject) => {
    let sent = 0
    let done = false
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: { ...headers, 'transfer-encoding': 'chunked' },
    })
    req.on('response', (res) => {
      done = true
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        body += d
      })
      const finish = (): void => {
        resolve({
          status: res.statusCode ?? 0,
          body,
          connection: res.headers.connection,
          sent,
        })
        req.destroy()
      }
      res.on('end', finish)
      res.on('error', finish)
    })
    req.on('error', (e) => (done ? undefined : reject(e)))
    req.write('[')
    const pump = (): void => {
      while (!done && sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      if (!done) req.end()
    }
    pump()
  })
}

/** Sends a head and part of the body, then leaves the socket open: resolves with the answer. */
export function stall(
  port: number,
  head: string,
  part: string
): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    let settled = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no answer to a stalled body (hang)'))
    }, 5000)
    const settle = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const end = text.indexOf('\r\n\r\n')
      const headers = text.slice(0, end).toLowerCase()
      const raw = text.slice(end + 4)
      resolve({
        status: Number(text.slice(9, 12)),
        headers,
        body: headers.includes('transfer-encoding: chunked') ? dechunk(raw) : raw,
      })
      socket.destroy()
    }
    socket.on('data', (d) => {
      text += d.toString('utf8')
      // One whole response (a Content-Length body) is enough: a keep-alive server may not close.
      const end = text.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1]
      if (end !== -1 && length !== undefined && text.length - end - 4 >= Number(length)) settle()
      if (end !== -1 && text.endsWith('\r\n0\r\n\r\n')) settle()
    })
    socket.on('error', () => {})
    socket.on('close', settle)
    socket.write(head + part)
  })
}

/** The payload of a chunked body. */
function dechunk(raw: string): string {
  let out = ''
  let rest = raw
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = Number.parseInt(rest.slice(0, eol), 16)
    if (!(size > 0)) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 2 + size + 2)
  }
}
