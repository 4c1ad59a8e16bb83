/**
 * A raw HTTP/1.1 exchange on 127.0.0.1: writes `payload` as given and collects what comes back
 * (latin1) until the server closes the connection (`closed: true`) or `ms` pass (`closed: false`).
 */
import { connect } from 'node:net'

export function rawExchange(
  port: number,
  payload: string,
  ms = 1500
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let text = ''
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(t)
      sock.destroy()
      resolve({ text, closed })
    }
    const t = setTimeout(() => finish(false), ms)
    sock.on('data', (d) => (text += d.toString('latin1')))
    sock.on('close', () => finish(true))
    sock.on('error', () => finish(true))
    sock.write(payload)
  })
}
