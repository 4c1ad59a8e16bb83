/**
 * rawRequest is for tests that read exactly what the server answered: a header sent twice (two
 * Set-Cookie, a duplicated Access-Control-Allow-Origin, two Content-Length) is a finding such tests
 * look for, and an interim 1xx response is not the answer.
 */
import { once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { rawRequest } from '../src/raw-http.js'

const servers: Server[] = []
afterAll(() => {
  for (const s of servers) s.close()
})

/** A TCP server that answers the first bytes it reads with `response`, then closes. */
async function answering(response: string): Promise<number> {
  const server = createServer((socket) => {
    socket.once('data', () => socket.end(response))
  })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

const GET = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1')

describe('rawRequest: repeated headers', () => {
  it('keeps every value of a header the server sent twice, joined, and lists each line', async () => {
    const port = await answering(
      'HTTP/1.1 200 OK\r\n' +
        'Access-Control-Allow-Origin: https://a.example\r\n' +
        'access-control-allow-origin: https://evil.example\r\n' +
        'Content-Length: 2\r\n' +
        'Connection: close\r\n\r\nok'
    )
    const res = await rawRequest(port, GET)
    expect(res.status).toBe(200)
    expect(res.body).toBe('ok')
    expect(res.headers['access-control-allow-origin']).toBe(
      'https://a.example, https://evil.example'
    )
    expect(res.rawHeaders).toEqual([
      ['Access-Control-Allow-Origin', 'https://a.example'],
      ['access-control-allow-origin', 'https://evil.example'],
      ['Content-Length', '2'],
      ['Connection', 'close'],
    ])
  })

  it('shows a doubled Content-Length and reads the body by the first one', async () => {
    const port = await answering(
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\nConnection: close\r\n\r\nokEXTRA'
    )
    const res = await rawRequest(port, GET)
    expect(res.headers['content-length']).toBe('2, 5')
    expect(res.body).toBe('ok')
  })
})

describe('rawRequest: interim 1xx responses', () => {
  it('reports the final response, not the 100 Continue Node sends for Expect: 100-continue', async () => {
    const http = createHttpServer((req, res) => {
      req.resume()
      req.on('end', () => {
        // A Content-Length, so the body is not chunked (rawRequest does not de-chunk).
        res.writeHead(201, {
          'content-type': 'text/plain',
          'content-length': 7,
          connection: 'close',
        })
        res.end('created')
      })
    })
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    try {
      const res = await rawRequest(
        (http.address() as AddressInfo).port,
        Buffer.from(
          'POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n' +
            'Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi',
          'latin1'
        )
      )
      expect(res.status).toBe(201)
      expect(res.body).toBe('created')
      expect(res.headers['content-type']).toBe('text/plain')
    } finally {
      http.closeAllConnections()
      http.close()
    }
  })

  it('skips several interim heads (103 Early Hints) and keeps none of their headers', async () => {
    const port = await answering(
      'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
        'HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope'
    )
    const res = await rawRequest(port, GET)
    expect(res.status).toBe(404)
    expect(res.body).toBe('nope')
    expect(res.headers.link).toBeUndefined()
  })

  it('reports no response (status 0, every byte received) when only an interim head came', async () => {
    const port = await answering('HTTP/1.1 100 Continue\r\n\r\n')
    const res = await rawRequest(port, GET)
    expect(res.status).toBe(0)
    expect(res.body).toBe('HTTP/1.1 100 Continue\r\n\r\n')
  })
})
