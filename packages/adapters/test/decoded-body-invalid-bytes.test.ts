/**
 * `bodyLimit({ decompress: true })` + `ctx.json()` on the Node adapters (node:http, Express 5 / 4,
 * Fastify): a compressed body that is not a valid encoding is answered 400 with
 * `Connection: close`, and never throws out of the request (no zlib 'error' without a listener,
 * which would take the process down):
 *
 * - bytes after the end of the compressed data (zero padding, which Node's gunzip stops at and
 *   skips, then anything else), whether they come in the same packet or later ones: the decoder
 *   is not left piped to `req` once it ended, where the next bytes made it fail;
 * - `Content-Encoding: gzip, gzip` on bytes that are not gzip: the first decoder of the chain, the
 *   one that gets the raw bytes, fails as well as the last.
 *
 * A body of several gzip members (RFC 1952 §2.2) still decodes whole.
 */
import { randomBytes } from 'node:crypto'
import { deflateSync, gzipSync } from 'node:zlib'
import type { Middleware } from '@aikit/core'
import { describe, expect, it } from 'vitest'
import { bodyLimit } from '../../security/src/index.js'
import { collect, NODE_ADAPTERS, openSocket, type Start } from './fixtures/node-adapters.js'

const readJson: Middleware = async (ctx, next) => {
  if (ctx.method !== 'POST') return next()
  ctx.respond(200, { got: await ctx.json() })
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * POSTs `parts` (the body, a packet each, 50 ms apart) declared with `coding`, then a GET on the
 * same connection; resolves with what came back and the uncaught exceptions meanwhile.
 */
async function post(
  start: Start,
  coding: string,
  parts: (Buffer | string)[]
): Promise<{ text: string; uncaught: string[] }> {
  const uncaught: string[] = []
  const onUncaught = (e: unknown) => uncaught.push(String(e))
  process.on('uncaughtException', onUncaught)
  const server = await start([bodyLimit({ maxBytes: 4096, decompress: true }), readJson])
  try {
    const length = parts.reduce((n, p) => n + Buffer.byteLength(p), 0)
    const sock = await openSocket(server.port)
    const read = collect(sock)
    const closed = new Promise((r) => sock.once('close', r))
    sock.write(
      'POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Encoding: ${coding}\r\nContent-Length: ${length}\r\n\r\n`
    )
    for (const part of parts) {
      sock.write(part)
      await sleep(50)
    }
    await sleep(50)
    sock.write('GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await Promise.race([closed, sleep(1500)])
    sock.destroy()
    return { text: read(), uncaught }
  } finally {
    process.off('uncaughtException', onUncaught)
    await server.close()
  }
}

/** One 400 with `Connection: close`, nothing after it (the GET behind is not read). */
function expectRefused(result: { text: string; uncaught: string[] }): void {
  expect(result.uncaught).toEqual([])
  expect(result.text).toMatch(/^HTTP\/1\.1 400 /)
  expect(result.text).toMatch(/\r\nconnection: close\r\n/i)
  expect(result.text.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1)
}

const gz = gzipSync('{"a":1}')

describe('a compressed request body with bytes after its compressed data', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: zero padding, then other bytes in a later packet: 400, no uncaught exception`, async () => {
      expectRefused(await post(start, 'gzip', [gz, Buffer.alloc(10), 'xx']))
    })

    it(`${name}: zero padding in the last packet: 400`, async () => {
      expectRefused(await post(start, 'gzip', [Buffer.concat([gz, Buffer.alloc(10)])]))
    })

    it(`${name}: bytes after a deflate stream: 400`, async () => {
      expectRefused(await post(start, 'deflate', [deflateSync('{"a":1}'), 'xx']))
    })

    it(`${name}: two gzip members decode as one body, and the connection is kept`, async () => {
      const { text, uncaught } = await post(start, 'gzip', [
        Buffer.concat([gzipSync('{"a":'), gzipSync('1}')]),
      ])
      expect(uncaught).toEqual([])
      expect(text).toMatch(/^HTTP\/1\.1 200 /)
      expect(text).toContain('{"got":{"a":1}}')
      expect(text).toMatch(/route$/)
    })

    it(`${name}: a gzip body in several packets decodes whole`, async () => {
      const text = randomBytes(1500).toString('hex')
      const body = gzipSync(JSON.stringify({ text }))
      const third = Math.ceil(body.length / 3)
      const { text: raw, uncaught } = await post(start, 'gzip', [
        body.subarray(0, third),
        body.subarray(third, 2 * third),
        body.subarray(2 * third),
      ])
      expect(uncaught).toEqual([])
      expect(raw).toMatch(/^HTTP\/1\.1 200 /)
      expect(raw).toContain(`{"got":{"text":"${text}"}}`)
    })
  }
})

describe('a body declared `Content-Encoding: gzip, gzip` that is not gzip', () => {
  for (const [name, start] of NODE_ADAPTERS) {
    it(`${name}: 400, no uncaught exception`, async () => {
      expectRefused(await post(start, 'gzip, gzip', ['this is not gzip at all']))
    })

    it(`${name}: a body gzipped twice decodes`, async () => {
      const { text, uncaught } = await post(start, 'gzip, gzip', [gzipSync(gz)])
      expect(uncaught).toEqual([])
      expect(text).toContain('{"got":{"a":1}}')
    })
  }
})
