import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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

    const { shutdown } = gracefulShutdown(server, { health, delayMs: 200, signals: [] })
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
    await new Promise((r) => setTimeout(r, 300)) // past the delay: the server is now closing
    expect(closed).toBe(false) // the stream holds it open
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

  it('listens for the given signals until disposed', () => {
    const s = createServer()
    const before = process.listenerCount('SIGUSR2')
    const g = gracefulShutdown(s, { signals: ['SIGUSR2'] })
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1)
    g.dispose()
    expect(process.listenerCount('SIGUSR2')).toBe(before)
  })

  it.each([
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ delayMs: 1.5 }, 'delayMs'],
    [{ health: {} }, 'health'],
    [{ signals: ['TERM'] }, 'signals'],
    [{ exit: 'no' }, 'exit'],
  ])('rejects invalid options %j naming %s', (options, field) => {
    expect(() => gracefulShutdown(createServer(), options as never)).toThrow(
      expect.objectContaining({ field })
    )
  })
})
