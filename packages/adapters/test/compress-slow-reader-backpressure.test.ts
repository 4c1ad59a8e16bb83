/**
 * With compress() transforming a body written with `res.write` on node:http, a route that waits
 * for 'drain' when a write returns false writes no more than the socket and kernel buffers hold
 * while the client reads nothing: the transformed writes keep Node's backpressure.
 */
import { randomBytes } from 'node:crypto'
import {
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http'
import { toNodeHandler } from '@aikit/adapters/node'
import { compress } from '@aikit/core/compress'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const closers: ConformanceServer[] = []
afterAll(async () => {
  await Promise.all(closers.map((s) => s.close()))
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('compress() and a slow reader on node:http', () => {
  it('a route waiting for drain does not write unbounded data while the client reads nothing', async () => {
    let written = 0
    let stop = false
    const srv = await listen(
      createServer(
        toNodeHandler(compress(), {
          handler: async (_req: IncomingMessage, res: ServerResponse) => {
            res.setHeader('content-type', 'text/plain')
            const chunk = randomBytes(32 * 1024).toString('base64')
            for (let i = 0; i < 2000 && !stop && !res.destroyed; i++) {
              written += chunk.length
              if (!res.write(chunk)) {
                await Promise.race([
                  new Promise((r) => res.once('drain', r)),
                  new Promise((r) => res.once('close', r)),
                  sleep(3000),
                ])
              }
            }
            res.end()
          },
        })
      ) as Server
    )
    closers.push(srv)
    const port = Number(new URL(srv.url).port)
    const req = request({
      port,
      host: '127.0.0.1',
      path: '/',
      headers: { 'accept-encoding': 'gzip' },
    })
    const resP = new Promise<IncomingMessage>((r) => req.on('response', r))
    req.on('error', () => {})
    req.end()
    const res = await resP
    res.pause()
    await sleep(1500)
    const soFar = written
    stop = true
    res.destroy()
    // 2000 chunks would be ~87 MB; socket + kernel buffers on loopback hold a few MB.
    expect(soFar).toBeLessThan(24 * 1024 * 1024)
  })
})
