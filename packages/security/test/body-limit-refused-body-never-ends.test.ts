/**
 * A chunked body refused past `bodyLimit`'s `maxBytes` (413 sent, later chunks dropped) must
 * never reach a route reading `req` as if it were whole. Before, the guard passed the body's end
 * through: the route got `'end'` after the first chunks only, saved that truncated body although
 * the client was told 413, and a plain node:http handler answering in its `'end'` listener threw
 * ERR_HTTP_HEADERS_SENT there, which exits the process. Its reads are left waiting (as for a body
 * that stopped coming): they never end.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toExpress } from '@aikit/adapters/express'
import { toNodeHandler } from '@aikit/adapters/node'
import { rawRequest } from '@aikit/testing/raw-http'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { bodyLimit } from '../src/body-limit.js'

/** What the route saw of one request's body: its end (bytes read), if it ended. */
type Seen = { ended?: number }

/** Records a raw read of `req`: the bytes read when (if) it ends. */
function watch(req: IncomingMessage, seen: Seen[]): void {
  const entry: Seen = {}
  seen.push(entry)
  let bytes = 0
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length
  })
  req.on('end', () => {
    entry.ended = bytes
  })
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as AddressInfo).port
}

const chunk = (text: string): string => `${text.length.toString(16)}\r\n${text}\r\n`

/** Three 600-byte chunks of a body, sent in one write. */
const CHUNKED = Buffer.from(
  `POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk('A'.repeat(600))}${chunk('B'.repeat(600))}${chunk('C'.repeat(600))}0\r\n\r\n`
)

const stacks: [string, (seen: Seen[]) => Server][] = [
  [
    'node:http (the handler answers in its end listener)',
    (seen) =>
      createServer(
        toNodeHandler(bodyLimit({ maxBytes: 1024 }), {
          handler: (req, res) => {
            watch(req, seen)
            // The usual handler: it answers once the body is in (it threw here on a refused one).
            req.on('end', () => {
              res.setHeader('content-type', 'text/plain')
              res.end('saved')
            })
          },
        })
      ),
  ],
  [
    'express 5 (the route reads req itself)',
    (seen) => {
      const app = express()
      app.use(toExpress(bodyLimit({ maxBytes: 1024 })))
      app.post('/notes', (req, res) => {
        watch(req, seen)
        req.on('end', () => {
          if (!res.headersSent) res.send('saved')
        })
      })
      return createServer(app)
    },
  ],
]

describe('a chunked body refused past maxBytes', () => {
  for (const [name, start] of stacks) {
    it(`${name}: is answered 413 and never ends as a whole body`, async () => {
      const seen: Seen[] = []
      const server = start(seen)
      // The server's side of the connection closing: by then the body's end (if any) came.
      const socketClosed = new Promise<void>((resolve) => {
        server.once('connection', (socket) => socket.once('close', () => resolve()))
      })
      const uncaught: unknown[] = []
      const onUncaught = (error: unknown): void => {
        uncaught.push(error)
      }
      process.on('uncaughtException', onUncaught)
      try {
        const port = await listen(server)
        const res = await rawRequest(port, CHUNKED)
        expect(res.status).toBe(413)
        // One answer: nothing after the kit's JSON.
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } })
        await socketClosed
        await new Promise((r) => setImmediate(r))
        expect(seen).toHaveLength(1)
        expect(seen[0]?.ended).toBeUndefined()
        expect(uncaught).toEqual([])
      } finally {
        process.off('uncaughtException', onUncaught)
        server.closeAllConnections()
        await new Promise<void>((r) => server.close(() => r()))
      }
    })
  }
})
