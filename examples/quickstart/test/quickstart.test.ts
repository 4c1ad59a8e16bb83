import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: plain JS example module without type declarations
import { app } from '../app.mjs'

let server: Server
let base: string
// Test files share their worker's process: the variables changed here are put back afterwards.
const saved = { ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY, LOG_LEVEL: process.env.LOG_LEVEL }

beforeAll(async () => {
  delete process.env.ANTHROPIC_API_KEY // the fake model, never the network
  process.env.LOG_LEVEL = 'warn' // keep the test output quiet
  server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

describe('quickstart example', () => {
  it('serves the page with the kit headers', async () => {
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const html = await res.text()
    expect(html).toContain('AI Kit quickstart')
    // helmet's header set with a per-request CSP nonce that the page's inline script carries
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get('content-security-policy') ?? '')?.[1]
    expect(nonce).toBeDefined()
    expect(html).toContain(`<script nonce="${nonce}">`)
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
    expect(res.headers.get('ratelimit-policy')).toBe('"default";q=20;w=60')
  })

  it('refuses a cross-site POST (CSRF) with the JSON error shape and the security headers', async () => {
    const res = await fetch(`${base}/api/chat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
      },
      body: JSON.stringify({ message: 'hi' }),
    })
    expect(res.status).toBe(403)
    expect((await res.json()).error.code).toBe('CSRF_REJECTED')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('serves health and Prometheus metrics that counted the traffic', async () => {
    const health = await fetch(`${base}/health`)
    expect(health.status).toBe(200)
    expect(health.headers.get('content-type')).toContain('application/health+json')
    const scrape = await (await fetch(`${base}/metrics`)).text()
    expect(scrape).toMatch(
      /http_server_request_duration_seconds_count\{[^}]*http_route="\/"[^}]*\} [1-9]/
    )
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
