import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: plain JS example module without type declarations
import { app } from '../app.mjs'

let server: Server
let base: string

beforeAll(async () => {
  delete process.env.ANTHROPIC_API_KEY // the fake model, never the network
  server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('quickstart example', () => {
  it('serves the page with the kit headers', async () => {
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await res.text()).toContain('AI Kit quickstart')
  })

  it('streams an answer from the fake model as SSE', async () => {
    const res = await fetch(`${base}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello kit' }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const text = await res.text()
    expect(text).toContain('event: meta\ndata: {"model":"fake"}')
    const answer = [...text.matchAll(/^data: (\{"text".*\})$/gm)]
      .map((m) => JSON.parse(m[1]!).text)
      .join('')
    expect(answer).toContain('You asked: "hello kit"')
    expect(text.trimEnd().endsWith('event: done\ndata: {}')).toBe(true)
  })

  it('answers bad input with the JSON error shape', async () => {
    const bad = await fetch(`${base}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message": 42}',
    })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('INVALID_REQUEST')
    const notFound = await fetch(`${base}/nope`)
    expect(notFound.status).toBe(404)
    expect((await notFound.json()).error.code).toBe('NOT_FOUND')
  })
})
