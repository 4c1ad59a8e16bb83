/**
 * gracefulShutdown keeps tracking connections until the server closed: one accepted during
 * `delayMs` (the load balancer still sends traffic then) is cut like one accepted before the
 * shutdown: once it stayed silent for a moment, and at the deadline when it is a TLS connection
 * stalled in its handshake (which Node's HTTP server does not know of).
 */
import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, connect, type Socket } from 'node:net'
import { gracefulShutdown } from '@aikit/observability'
import { afterEach, describe, it } from 'vitest'

let server: Server | undefined
const sockets: Socket[] = []
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy()
  server?.closeAllConnections()
  server?.close()
  server = undefined
})

/** Connected and accepted by the server (its `connection` event has run). */
async function connected(srv: Server, port: number): Promise<Socket> {
  const accepted = new Promise((r) => srv.once('connection', r))
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  sockets.push(socket)
  await accepted
  return socket
}

describe('gracefulShutdown: connections accepted during delayMs', () => {
  // The deadline (60 s) is past this test's own timeout: only the silent sweep can end it.
  it('cuts a silent connection opened during the delay without waiting for the deadline', async () => {
    server = createServer((req, res) => {
      req.resume()
      res.end('ok')
    })
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    // A delay well past the 100 ms wait below: a loaded runner's late timer still lands inside it.
    const g = gracefulShutdown(server, {
      signals: [],
      delayMs: 1_000,
      timeoutMs: 60_000,
      exit: false,
    })
    const done = g.shutdown()
    await new Promise((r) => setTimeout(r, 100)) // inside the delay
    const socket = await connected(server, port)
    const closed = new Promise((r) => socket.once('close', r))
    await done
    await closed
  }, 15_000)

  // Left untracked, such a connection held the close until the TLS handshake timeout (120 s, past
  // this test's own timeout) although the deadline is 2 s.
  it('cuts a TLS connection stalled in its handshake, opened during the delay, at the deadline', async () => {
    // No certificate is needed: the client never gets past the first bytes of its hello.
    const tls = createHttpsServer({}, (_req, res) => res.end('ok'))
    server = tls as unknown as Server
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r))
    const port = (tls.address() as AddressInfo).port
    // A delay well past the 100 ms wait below (a loaded runner's late timer still lands inside
    // it), the deadline past the delay.
    const g = gracefulShutdown(tls, { signals: [], delayMs: 1_000, timeoutMs: 3_000, exit: false })
    const done = g.shutdown()
    await new Promise((r) => setTimeout(r, 100)) // inside the delay
    const socket = await connected(server, port)
    // A TLS record header announcing a ClientHello, and nothing more.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))
    const closed = new Promise((r) => socket.once('close', r))
    await done
    await closed
  }, 15_000)
})
