/**
 * Golden test: the header set of `securityHeaders()` equals real helmet 8's, header by header,
 * on every adapter (helmet itself runs on an Express server next to ours).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import helmet from 'helmet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { securityHeaders } from '../src/headers.js'
import { APP_HOST, STACKS, type Stack } from './headers-stacks.js'

const TRANSPORT = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'etag',
  'content-type',
])

function securitySet(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    if (!TRANSPORT.has(name) && !name.startsWith('x-middleware-')) out[name] = value
  })
  return out
}

let helmetHeaders: Record<string, string> = {}
let poweredByWithoutHelmet: string | null = null

beforeAll(async () => {
  const app = express()
  app.use(helmet())
  app.get('/api/chat', (_req, res) => {
    res.json({ ok: true })
  })
  const bare = express()
  bare.get('/api/chat', (_req, res) => {
    res.json({ ok: true })
  })
  for (const [target, save] of [
    [app, (h: Headers) => (helmetHeaders = securitySet(h))],
    [bare, (h: Headers) => (poweredByWithoutHelmet = h.get('x-powered-by'))],
  ] as const) {
    const server = createServer(target)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/chat`)
    await res.text()
    save(res.headers)
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
})

describe('helmet 8 itself (the reference)', () => {
  it('sends the documented default set, and Express alone sends X-Powered-By', () => {
    expect(Object.keys(helmetHeaders).sort()).toEqual([
      'content-security-policy',
      'cross-origin-opener-policy',
      'cross-origin-resource-policy',
      'origin-agent-cluster',
      'referrer-policy',
      'strict-transport-security',
      'x-content-type-options',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-frame-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ])
    expect(poweredByWithoutHelmet).toBe('Express')
  })
})

describe.each(STACKS)('securityHeaders() on %s', (_name, factory) => {
  let stack: Stack
  beforeAll(async () => {
    stack = await factory([securityHeaders()])
  })
  afterAll(() => stack.close())

  it('sends exactly helmet 8 default headers and values, and no X-Powered-By', async () => {
    const res = await stack.send('/api/chat', { headers: { host: APP_HOST } })
    expect(res.status).toBe(200)
    expect(securitySet(res.headers)).toEqual(helmetHeaders)
    expect(res.headers.get('x-powered-by')).toBeNull()
  })
})
