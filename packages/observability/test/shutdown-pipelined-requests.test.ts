/**
 * HTTP/1.1 pipelining during gracefulShutdown: two requests sent at once on one keep-alive
 * connection while the shutdown tells every response to say `Connection: close`. Every request
 * the handler runs gets its answer: the close goes on the last request of the connection (once a
 * response said close, the server closes after it, and a request pipelined behind it was run but
 * never answered: a POST the client can neither trust nor safely retry). RFC 9112 §9.6.
 */
import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { gracefulShutdown } from '@aikit/observability'
import { afterEach, describe, expect, it } from 'vitest'

let server: Server | undefined
afterEach(() => {
  server?.closeAllConnections()
  server?.close()
  server = undefined
})

describe('pipelined requests during the shutdown', () => {
  it('two requests pipelined on one connection are both run and both answered, the close on the second', async () => {
    const ran: string[] = []
    server = createServer((req, res) => {
      ran.push(req.url ?? '')
      req.resume()
      setTimeout(() => res.end(`done ${req.url}`), 20)
    })
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    const g = gracefulShutdown(server, {
      signals: [],
      delayMs: 2_000,
      timeoutMs: 5_000,
      exit: false,
    })
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise((r) => socket.once('connect', r))
    const done = g.shutdown()
    let text = ''
    socket.on('data', (d) => (text += d.toString('latin1')))
    const closed = new Promise((r) => socket.once('close', r))
    const post = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`
    socket.write(post('/a') + post('/b'))
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))])
    socket.destroy()
    await done
    const answered = (text.match(/HTTP\/1\.1 200/g) ?? []).length
    // Every request the handler ran got its answer: both here, the close on the second.
    expect({ ran, answered }).toEqual({ ran: ['/a', '/b'], answered: 2 })
    const heads = text.split('HTTP/1.1 200').slice(1)
    expect(heads[0]?.toLowerCase()).not.toContain('connection: close')
    expect(heads[1]?.toLowerCase()).toContain('connection: close')
  }, 15_000)
})
