import { Agent, createServer, request, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, connect } from 'node:net'
import { toNodeHandler } from '@aikit/adapters/node'
import { gracefulShutdown, healthCheck } from '@aikit/observability'
import { afterEach, describe, expect, it } from 'vitest'

let server: Server | undefined
afterEach(() => {
  server?.closeAllConnections()
  server?.close()
})

/** A server with health endpoints and `/stream`, an SSE answer that waits for `release()` mid-way. */
async function streamingServer() {
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  const health = healthCheck()
  server = createServer(
    toNodeHandler(health, async (ctx, next) => {
      if (ctx.path !== '/stream') return next()
      ctx.respond(
        200,
        (async function* () {
          yield 'data: first\n\n'
          await gate
          yield 'data: last\n\n'
        })(),
        { 'content-type': 'text/event-stream' }
      )
    })
  )
  // A keep-alive connection idle after a response that went out before the shutdown (the
  // stream's) is left to the client and to keepAliveTimeout: 2 s here rather than Node's 5 s
  // (a Node client reuses a socket only when the server's `Keep-Alive: timeout` is above 1 s).
  server.keepAliveTimeout = 2000
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, health, release, server }
}

async function readAll(reader: ReadableStreamDefaultReader<Uint8Array>, first: string) {
  let text = first
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text
    text += decoder.decode(value)
  }
}

describe('gracefulShutdown', () => {
  it('fails readiness first, lets a streamed answer in flight finish, then closes the server', async () => {
    const { base, health, release, server } = await streamingServer()
    const res = await fetch(`${base}/stream`)
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    expect(first).toBe('data: first\n\n')

    // Long enough for the two checks below to land within it on a loaded runner.
    const { shutdown } = gracefulShutdown(server, { health, delayMs: 2_000, signals: [] })
    const done = shutdown()
    // Still accepting connections during the delay, but no longer ready.
    const ready = await fetch(`${base}/readyz`, { headers: { connection: 'close' } })
    expect(ready.status).toBe(503)
    expect(((await ready.json()) as { output: string }).output).toBe('shutting down')
    expect((await fetch(`${base}/livez`, { headers: { connection: 'close' } })).status).toBe(200)

    let closed = false
    void done.then(() => {
      closed = true
    })
    // Past the delay the server stops accepting connections (polled, bounded by attempts)…
    for (const end = Date.now() + 10_000; Date.now() < end && server.listening; )
      await new Promise((r) => setTimeout(r, 10))
    expect(server.listening).toBe(false)
    expect(closed).toBe(false) // …while the stream holds it open
    release()
    expect(await readAll(reader, first)).toBe('data: first\n\ndata: last\n\n')
    await done
    expect(server.listening).toBe(false)
    await expect(fetch(`${base}/livez`)).rejects.toThrow()
  })

  it('cuts connections still open at the deadline, then runs onShutdown once', async () => {
    const { base, server } = await streamingServer()
    const res = await fetch(`${base}/stream`)
    const reader = res.body!.getReader()
    await reader.read()
    let cleanups = 0
    const g = gracefulShutdown(server, {
      timeoutMs: 100,
      signals: [],
      onShutdown: () => {
        cleanups++
      },
    })
    await Promise.all([g.shutdown(), g.shutdown()])
    expect(cleanups).toBe(1)
    await expect(readAll(reader, '')).rejects.toThrow()
  })

  // A cleanup that hangs (`redis.quit()` while Redis is down) kept the shutdown, and with it the
  // process, alive until the orchestrator's SIGKILL: it gets `timeoutMs`, then it is left behind.
  it('ends once onShutdown has had timeoutMs, when it hangs', async () => {
    const { server } = await streamingServer()
    let cleanups = 0
    const g = gracefulShutdown(server, {
      timeoutMs: 100,
      signals: [],
      onShutdown: () => {
        cleanups++
        return new Promise(() => {})
      },
    })
    let over = false
    void g.shutdown().then(() => {
      over = true
    })
    // Polled, bounded by attempts (well past the 100 ms it may take).
    for (const end = Date.now() + 10_000; Date.now() < end && !over; )
      await new Promise((r) => setTimeout(r, 25))
    expect({ cleanups, over }).toEqual({ cleanups: 1, over: true })
  })

  it('listens for the given signals until disposed', () => {
    const s = createServer()
    const before = process.listenerCount('SIGUSR2')
    const g = gracefulShutdown(s, { signals: ['SIGUSR2'] })
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    g.dispose()
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it('keeps its signal listeners through the shutdown a signal started (a repeat joins it), then removes them', async () => {
    const { base, release, server } = await streamingServer()
    const res = await fetch(`${base}/stream`)
    const reader = res.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    let cleanups = 0
    const before = process.listenerCount('SIGUSR2')
    const g = gracefulShutdown(server, {
      signals: ['SIGUSR2'],
      exit: false,
      onShutdown: () => {
        cleanups++
      },
    })
    process.emit('SIGUSR2')
    // Still draining (the stream is open): a repeated signal finds the listener and joins in.
    await new Promise((r) => setTimeout(r, 20))
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    process.emit('SIGUSR2')
    release()
    expect(await readAll(reader, first)).toBe('data: first\n\ndata: last\n\n')
    await g.shutdown()
    await new Promise((r) => setImmediate(r))
    expect(cleanups).toBe(1)
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it.each([
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ delayMs: 1.5 }, 'delayMs'],
    [{ health: {} }, 'health'],
    [{ signals: ['TERM'] }, 'signals'],
    [{ signals: ['SIGTERMX'] }, 'signals'],
    [{ signals: ['SIGKILL'] }, 'signals'],
    [{ signals: ['SIGUSR2', 'SIGSTOP'] }, 'signals'],
    [{ exit: 'no' }, 'exit'],
  ])('rejects invalid options %j naming %s, installing no listener', (options, field) => {
    const s = createServer()
    const before = process.listenerCount('SIGUSR2')
    const connectionListeners = s.listenerCount('connection')
    expect(() => gracefulShutdown(s, options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', field })
    )
    expect(process.listenerCount('SIGUSR2')).toBe(before)
    expect(s.listenerCount('connection')).toBe(connectionListeners)
  })
})

/** A POST on `agent`; rejects with the error and whether the socket was a reused one. */
function post(port: number, agent: Agent, path: string) {
  return new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent,
        headers: { 'content-type': 'text/plain' },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection })
        )
      }
    )
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(Object.assign(e, { reused: req.reusedSocket }))
    )
    req.end('hello')
  })
}

describe('gracefulShutdown and keep-alive clients', () => {
  it('never resets a request a keep-alive client already sent on its reused socket', async () => {
    // /slow is answered once the shutdown has started (not after a fixed delay, which a loaded
    // runner can overrun before the test starts the shutdown).
    let slowArrived = () => {}
    const arrived = new Promise<void>((r) => {
      slowArrived = r
    })
    let slowMayEnd = () => {}
    const mayEnd = new Promise<void>((r) => {
      slowMayEnd = r
    })
    server = createServer((req, res) => {
      req.resume()
      if (req.url !== '/slow') return void res.end('ok')
      slowArrived()
      void mayEnd.then(() => res.end('ok'))
    })
    const s = server
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const { port } = s.address() as AddressInfo
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const g = gracefulShutdown(s, { signals: [], timeoutMs: 3000, exit: false })
    try {
      // Before the shutdown: keep-alive, as usual.
      expect((await post(port, agent, '/fast')).connection).toBe('keep-alive')
      const first = post(port, agent, '/slow') // in flight when shutdown starts
      await arrived
      const done = g.shutdown()
      setTimeout(slowMayEnd, 120) // ends during the shutdown, as it did 150 ms after it arrived
      const r1 = await first
      expect(r1.status).toBe(200)
      // The response in flight tells the client to let go of the socket.
      expect(r1.connection).toBe('close')
      // The client goes on as clients do: each request either succeeds (told to close) or is
      // refused on a new connection (ECONNREFUSED: never sent). Never reset on a reused socket.
      const outcomes: string[] = []
      for (let i = 0; i < 50; i++) {
        try {
          outcomes.push(`${(await post(port, agent, '/fast')).connection}`)
        } catch (e) {
          const err = e as NodeJS.ErrnoException & { reused?: boolean }
          outcomes.push(`${err.code ?? err.message} reused=${err.reused}`)
          break
        }
      }
      expect(outcomes.at(-1)).toBe('ECONNREFUSED reused=false')
      expect(outcomes.slice(0, -1).every((o) => o === 'close')).toBe(true)
      await done
    } finally {
      agent.destroy()
    }
  })

  it('says Connection: close on requests arriving on kept-alive connections during the delay', async () => {
    server = createServer((req, res) => {
      req.resume()
      res.end('ok')
    })
    const s = server
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const { port } = s.address() as AddressInfo
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    // Long enough for the three requests to land within it on a loaded runner.
    const g = gracefulShutdown(s, { signals: [], delayMs: 2_000, exit: false })
    try {
      expect((await post(port, agent, '/')).connection).toBe('keep-alive')
      const done = g.shutdown()
      // Still accepting during the delay; the kept-alive socket is told to close, then a new one.
      expect(await post(port, agent, '/')).toEqual({ status: 200, connection: 'close' })
      expect(await post(port, agent, '/')).toEqual({ status: 200, connection: 'close' })
      await done
      expect(s.listening).toBe(false)
    } finally {
      agent.destroy()
    }
  })

  it('keeps a connection whose keep-alive response went out before the shutdown usable, and tells it to close', async () => {
    // Its keepAliveTimeout (2 s) is promised to the client in `Keep-Alive: timeout=2`.
    const { release, server: s } = await streamingServer()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const { port } = s.address() as AddressInfo
    try {
      // A stream whose head (keep-alive) is written before the shutdown starts.
      let headed = () => {}
      const head = new Promise<void>((r) => {
        headed = r
      })
      const streamed = new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/stream', agent }, (res) => {
          headed()
          let text = ''
          res.on('data', (c: Buffer) => {
            text += c.toString()
          })
          res.on('end', () => resolve(`${res.headers.connection}|${text}`))
        })
          .on('error', reject)
          .end()
      })
      await head // written before the shutdown starts (waited for, not a fixed sleep)
      const done = gracefulShutdown(s, { signals: [], exit: false }).shutdown()
      release()
      expect(await streamed).toBe('keep-alive|data: first\n\ndata: last\n\n')
      // The client reuses the connection it was promised: answered (a 404 here), told to close.
      const next = await new Promise<{
        reused: boolean
        status: number | undefined
        connection: string | undefined
      }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/nothing', agent }, (res) => {
          res.resume()
          res.on('end', () =>
            resolve({
              reused: req.reusedSocket,
              status: res.statusCode,
              connection: res.headers.connection,
            })
          )
        })
        req.on('error', reject).end()
      })
      expect(next).toEqual({ reused: true, status: 404, connection: 'close' })
      await done
      expect(s.listening).toBe(false)
    } finally {
      agent.destroy()
    }
  })
})

describe('gracefulShutdown and connections that sent nothing yet', () => {
  async function plainServer() {
    server = createServer((req, res) => {
      req.resume()
      res.end('ok')
    })
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
    return (server.address() as AddressInfo).port
  }
  // Connected and accepted by the server (its `connection` event has run).
  const connected = async (port: number) => {
    const accepted = new Promise((r) => server!.once('connection', r))
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await accepted
    return socket
  }

  // A preconnect is not idle to Node (its header timer runs from the connect): the close used to
  // wait for it until the deadline (60 s here, past this test's own timeout).
  it('cuts a connection still silent after a moment, without waiting for the deadline', async () => {
    const port = await plainServer()
    const g = gracefulShutdown(server!, { signals: [], timeoutMs: 60_000, exit: false })
    const socket = await connected(port)
    const closed = new Promise((r) => socket.once('close', r))
    await g.shutdown()
    await closed
    expect(socket.bytesRead).toBe(0)
  }, 15_000)

  it('answers a request sent on such a connection right after the shutdown began, with close', async () => {
    const port = await plainServer()
    const g = gracefulShutdown(server!, { signals: [], timeoutMs: 60_000, exit: false })
    const socket = await connected(port)
    let answer = ''
    socket.on('data', (chunk) => {
      answer += String(chunk)
    })
    const done = g.shutdown()
    await new Promise((r) => setTimeout(r, 100))
    const ended = new Promise((r) => socket.once('close', r))
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await Promise.all([done, ended])
    expect(answer).toMatch(/^HTTP\/1\.1 200/)
    expect(answer.toLowerCase()).toContain('connection: close')
  }, 15_000)
  // Node's HTTP server knows only the connections it parses HTTP on: at the deadline,
  // closeAllConnections() left a TLS connection stalled in its handshake open until the TLS
  // handshake timeout (120 s), so the shutdown overran its own deadline (2 s here).
  it('cuts a TLS connection stalled in its handshake at the deadline', async () => {
    // No certificate is needed: the client never gets past the first bytes of its hello.
    const tls = createHttpsServer({}, (_req, res) => res.end('ok'))
    server = tls as unknown as Server
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r))
    const g = gracefulShutdown(tls, { signals: [], timeoutMs: 2_000, exit: false })
    const socket = await connected((tls.address() as AddressInfo).port)
    // A TLS record header announcing a ClientHello, and nothing more.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))
    const closed = new Promise((r) => socket.once('close', r))
    await g.shutdown()
    await closed
  }, 15_000)
})
