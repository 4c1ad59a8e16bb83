/**
 * With compress() transforming the body on node:http, a `res.write` after `res.end` calls its
 * callback with `ERR_STREAM_WRITE_AFTER_END`, as Node does: the callback used to be dropped, so
 * code awaiting a promisified write waited forever. The body sent is unchanged.
 */
import { createServer, type Server } from 'node:http'
import { toNodeHandler } from '@aikit/adapters/node'
import { compress } from '@aikit/core/compress'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeBody, rawRequest } from './compress-raw-client.js'
import type { ConformanceServer } from './conformance/cases.js'
import { listen } from './conformance/listen.js'

const ENC_TEXT = 'abcdefghij klmnopqrst uvwxyz 0123456789\n'.repeat(80)
const cbLog: string[] = []
let server: ConformanceServer

beforeAll(async () => {
  server = await listen(
    createServer(
      toNodeHandler(compress(), {
        handler: (_req, res) => {
          res.setHeader('content-type', 'text/plain')
          res.end(ENC_TEXT)
          res.write('late', (err) => {
            cbLog.push(`late-write-cb:${err ? (err as NodeJS.ErrnoException).code : 'ok'}`)
          })
        },
      })
    ) as Server
  )
})

afterAll(async () => {
  await server.close()
})

describe('compress() and a write after end on node:http', () => {
  it('a write after end calls its callback with ERR_STREAM_WRITE_AFTER_END (as Node does)', async () => {
    cbLog.length = 0
    const r = await rawRequest(`${server.url}/write-after-end`, { 'accept-encoding': 'gzip' })
    expect(decodeBody(r)).toBe(ENC_TEXT)
    for (const end = Date.now() + 10_000; Date.now() < end && cbLog.length === 0; )
      await new Promise((r) => setTimeout(r, 10))
    expect(cbLog).toEqual(['late-write-cb:ERR_STREAM_WRITE_AFTER_END'])
  })
})
