/**
 * bodyLimit() rows 19/20 (short body ended → 400 INVALID_REQUEST, stalled → 408 REQUEST_TIMEOUT)
 * when the body is read by the framework's own parser (express.json(), Fastify's JSON parser)
 * or by the node:http handler reading `req` itself: README says "whoever reads them".
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { aikitFastify } from '@aikit/adapters/fastify'
import { toNodeHandler } from '@aikit/adapters/node'
import express from 'express'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bodyLimit } from '../src/body-limit.js'
import { wire } from './attack-wire.js'

type Stack = { url: string; close: () => Promise<void>; calls: { n: number } }

/**
 * The body timeout: 2 s, not less, so the client's end after its partial body reaches the server
 * before it on a loaded runner (else a 408 where the test wants the 400).
 */
const BODY_TIMEOUT_MS = 2_000

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
const closeServer = (s: Server) => {
  s.closeAllConnections()
  return new Promise<void>((r) => s.close(() => r()))
}

async function expressNative(): Promise<Stack> {
  const calls = { n: 0 }
  const app = express()
  app.use(toExpress(bodyLimit({ maxBytes: '1mb', timeoutMs: BODY_TIMEOUT_MS })))
  app.use(express.json())
  app.post('/api/chat', (req, res) => {
    calls.n++
    res.json({ n: JSON.stringify(req.body).length })
  })
  const server = createServer(app)
  return { url: await listen(server), close: () => closeServer(server), calls }
}

async function fastifyNative(): Promise<Stack> {
  const calls = { n: 0 }
  const app = Fastify({ logger: false })
  await app.register(aikitFastify, {
    use: [bodyLimit({ maxBytes: '1mb', timeoutMs: BODY_TIMEOUT_MS })],
    errorHandler: true,
  })
  app.post('/api/chat', async (req) => {
    calls.n++
    return { n: JSON.stringify(req.body).length }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { url, close: () => app.close(), calls }
}

async function nodeNative(): Promise<Stack> {
  const calls = { n: 0 }
  const server = createServer(
    toNodeHandler(bodyLimit({ maxBytes: '1mb', timeoutMs: BODY_TIMEOUT_MS }), {
      handler: (req, res) => {
        const parts: Buffer[] = []
        req.on('data', (c: Buffer) => parts.push(c))
        req.on('end', () => {
          calls.n++
          res.end(String(Buffer.concat(parts).length))
        })
        req.on('error', () => {})
      },
    })
  )
  return { url: await listen(server), close: () => closeServer(server), calls }
}

describe.each([
  ['node (handler reads req)', nodeNative],
  ['express (express.json())', expressNative],
  ['fastify (own JSON parser)', fastifyNative],
] as const)('short or stalled bodies read by the framework parser, %s', (_n, factory) => {
  let stack: Stack
  beforeAll(async () => {
    stack = await factory()
  })
  afterAll(() => stack.close())
  const head = [
    'POST /api/chat HTTP/1.1',
    'Host: app.example.com',
    'Content-Type: application/json',
    'Content-Length: 5000',
  ].join('\r\n')
  const partial = `{"p":"${'a'.repeat(94)}`

  it('Content-Length larger than sent, client ends → 400 INVALID_REQUEST (JSON)', async () => {
    stack.calls.n = 0
    const r = await wire(stack.url, {
      head,
      body: partial,
      after: 'end',
      responses: 1,
      timeoutMs: 3000,
    })
    const [res] = r.responses
    expect(res?.status).toBe(400)
    expect(JSON.parse(res?.body ?? 'null')?.error?.code).toBe('INVALID_REQUEST')
    expect(stack.calls.n).toBe(0)
  })

  it('Content-Length larger than sent, client stalls → 408 REQUEST_TIMEOUT', async () => {
    stack.calls.n = 0
    const r = await wire(stack.url, { head, body: partial, responses: 1, timeoutMs: 10_000 })
    const [res] = r.responses
    expect(res?.status).toBe(408)
    expect(JSON.parse(res?.body ?? 'null')?.error?.code).toBe('REQUEST_TIMEOUT')
    expect(stack.calls.n).toBe(0)
  })
})
