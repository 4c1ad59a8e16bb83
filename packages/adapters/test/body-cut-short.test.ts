/**
 * A body the client cuts short (declares `Content-Length: 5000`, sends 100 bytes, then
 * half-closes) gets one answer: the kit's JSON 400, and nothing after it on the socket. Fastify's
 * `clientError` handler checks only `socket.writable` before writing its own raw 400 (Node's own
 * checks `bytesWritten`): it used to go out behind the kit's, two responses to one request.
 */
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { collect, NODE_ADAPTERS, openSocket } from './fixtures/node-adapters.js'

const reader: Middleware = async function reader(ctx) {
  ctx.respond(200, { echo: await ctx.json() })
}

describe('a request body cut short by a half-close', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: is answered once, with the kit's 400, and nothing else goes out`, async () => {
      const server = await start([reader])
      try {
        const socket = await openSocket(server.port)
        const read = collect(socket)
        const closed = new Promise((r) => socket.once('close', r))
        socket.write(
          `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"a":${' '.repeat(95)}`
        )
        socket.end() // half-close: the body will never be complete
        await closed
        const text = read()
        expect(text.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true)
        expect(text).toContain('"code":"INVALID_REQUEST"')
        expect(text.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1)
      } finally {
        await server.close()
      }
    })
  }
})
