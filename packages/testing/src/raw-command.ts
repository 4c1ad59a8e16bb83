/**
 * @module raw-command
 * Internal (re-exported by `./redis`): one Redis command over a fresh TCP connection, with no
 * client library, for probing servers that may be down, paused or not ours.
 */
import { connect } from 'node:net'

const HOST = '127.0.0.1'
const CRLF = Buffer.from('\r\n')

/**
 * Sends one command over a fresh TCP connection and returns the reply as text (simple strings,
 * integers and bulk strings only; an array reply gives its length line). Bulk strings are read by
 * their byte length and decoded as UTF-8. Rejects on an error reply, a connection error or after
 * `ms` (default 1000).
 */
export function rawCommand(port: number, args: string[], ms = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port })
    let buffer = Buffer.alloc(0)
    const done = (error: Error | undefined, value?: string) => {
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(value ?? '')
    }
    const timer = setTimeout(() => done(new Error(`no reply within ${ms} ms`)), ms)
    socket.once('error', (error) => done(error))
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      const lineEnd = buffer.indexOf(CRLF)
      if (lineEnd === -1) return
      const type = String.fromCharCode(buffer[0] ?? 0)
      const line = buffer.subarray(1, lineEnd).toString('utf8')
      if (type === '-') return done(new Error(line))
      if (type !== '$') return done(undefined, line)
      // `$<n>` counts bytes: wait for n bytes and the CRLF after them.
      const length = Number(line)
      if (length < 0) return done(undefined, '')
      const start = lineEnd + CRLF.length
      if (buffer.length >= start + length + CRLF.length) {
        done(undefined, buffer.subarray(start, start + length).toString('utf8'))
      }
    })
    const body = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')
    socket.write(`*${args.length}\r\n${body}`)
  })
}
