/**
 * The guard lets a request without a body through unread: over HTTP/1.1 a POST with neither
 * Content-Length nor Transfer-Encoding has none (RFC 9112 §6.3; `curl -X POST url`), nor has a Web
 * Request built without a body.
 */
import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { withAikit } from '@aikit/adapters/next'
import { toNodeHandler } from '@aikit/adapters/node'
import { afterAll, describe, expect, it } from 'vitest'
import { promptGuard } from '../src/prompt-guard.js'

const servers: Server[] = []
afterAll(() => {
  for (const s of servers) s.closeAllConnections()
  return Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))))
})

function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head))
    let data = ''
    socket.on('data', (c) => {
      data += c.toString('latin1')
      if (data.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(data)
      }
    })
    socket.on('error', reject)
  })
}

describe('a bodiless POST without Content-Length', () => {
  it('node:http, HTTP/1.1 POST with neither Content-Length nor Transfer-Encoding reaches the route', async () => {
    let calls = 0
    const server = createServer(
      toNodeHandler(promptGuard().middleware(), {
        handler: (_req, res) => {
          calls++
          res.end('ok')
        },
      })
    )
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    const res = await rawRequest(
      port,
      'POST /v1/conversations/42/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n'
    )
    expect(res.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
    expect(calls).toBe(1)
  })

  it('Next route: a POST Request with no body (body === null) reaches the route', async () => {
    let calls = 0
    const route = withAikit(async () => {
      calls++
      return Response.json({ ok: true })
    }, promptGuard().middleware())
    const req = new Request('http://app.example.com/api/reset', { method: 'POST' })
    expect(req.body).toBeNull()
    const res = await route(req, {})
    expect(res.status).toBe(200)
    expect(calls).toBe(1)
  })
})
