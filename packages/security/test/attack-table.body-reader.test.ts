/**
 * The attack-table rows decided by the adapters' body reader under `bodyLimit()`, through
 * node:http, Express 5 and Fastify 5 over real sockets, with `securityHeaders()` listed last:
 * row 19 (a body shorter than its `Content-Length`, ended by the client: 400, not a hang), row 20
 * (the same, stalled: 408 after the body timeout), and compressed bodies (decoded size counted: a
 * gzip bomb is 413 with memory bounded; an unknown coding is 415). The real Next server runs them
 * in attack-table.next.test.ts.
 */
import { once } from 'node:events'
import { createGzip, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Calls, gzipChain, stallChain } from './attack-chains.js'
import { wire } from './attack-wire.js'
import { expressStack, fastifyStack, nodeStack, type Stack } from './headers-stacks.js'

describe.each([
  ['node', nodeStack],
  ['express', expressStack],
  ['fastify', fastifyStack],
] as const)('attack table, short bodies, on %s', (_name, factory) => {
  const calls: Calls = { n: 0 }
  let stack: Stack
  beforeAll(async () => {
    stack = await factory(stallChain(calls))
  })
  afterAll(() => stack.close())

  const head = [
    'POST /api/chat HTTP/1.1',
    'Host: app.example.com',
    'Content-Type: application/json',
    'Content-Length: 5000',
  ].join('\r\n')
  const partial = `{"p":"${'a'.repeat(94)}`

  it('row 19: Content-Length 5000, 100 bytes, then the client ends → 400, not a hang', async () => {
    calls.n = 0
    const result = await wire(stack.url ?? '', {
      head,
      body: partial,
      after: 'end',
      responses: 1,
    })
    const [res] = result.responses
    expect(res?.status).toBe(400)
    expect(JSON.parse(res?.body ?? '').error.code).toBe('INVALID_REQUEST')
    expect(res?.body).not.toContain('aaaa')
    expect(res?.headers['x-content-type-options']).toBe('nosniff')
    expect(calls.n).toBe(0)
  })

  it('row 20: Content-Length 5000, 100 bytes, then the client stalls → 408', async () => {
    calls.n = 0
    const result = await wire(stack.url ?? '', { head, body: partial, responses: 1 })
    const [res] = result.responses
    expect(res?.status).toBe(408)
    expect(JSON.parse(res?.body ?? '').error.code).toBe('REQUEST_TIMEOUT')
    expect(res?.headers['x-content-type-options']).toBe('nosniff')
    expect(calls.n).toBe(0)
  })
})

/** `{"p":"aaa…"}` with `size` letters, gzipped without holding the plain text in memory. */
async function gzipBomb(size: number): Promise<Buffer> {
  const gz = createGzip()
  const out: Buffer[] = []
  gz.on('data', (c: Buffer) => out.push(c))
  const ended = once(gz, 'end')
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  gz.write('{"p":"')
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!gz.write(chunk)) await once(gz, 'drain')
  }
  gz.end('"}')
  await ended
  return Buffer.concat(out)
}

describe.each([
  ['node', nodeStack],
  ['express', expressStack],
  ['fastify', fastifyStack],
] as const)('attack table, compressed bodies, on %s', (_name, factory) => {
  const calls: Calls = { n: 0 }
  let stack: Stack
  beforeAll(async () => {
    stack = await factory(gzipChain(calls))
  })
  afterAll(() => stack.close())

  const send = (body: Buffer, encoding: string, extra: Partial<Parameters<typeof wire>[1]> = {}) =>
    wire(stack.url ?? '', {
      head: [
        'POST /api/chat HTTP/1.1',
        'Host: app.example.com',
        'Content-Type: application/json',
        `Content-Encoding: ${encoding}`,
        `Content-Length: ${body.length}`,
      ].join('\r\n'),
      body,
      responses: 1,
      ...extra,
    })

  it('a gzip body is decoded for the route', async () => {
    calls.n = 0
    const [res] = (await send(gzipSync('{"a":"hello"}'), 'gzip')).responses
    expect(res?.status).toBe(200)
    expect(JSON.parse(res?.body ?? '')).toEqual({ bytes: 13 })
    expect(calls.n).toBe(1)
  })

  it('a gzip bomb (50 MB decoded) → 413 at the limit, memory bounded', async () => {
    calls.n = 0
    const bomb = await gzipBomb(50e6)
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const before = process.memoryUsage()
    const [res] = (await send(bomb, 'gzip')).responses
    const after = process.memoryUsage()
    expect(res?.status).toBe(413)
    expect(JSON.parse(res?.body ?? '')).toEqual({
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: 'Request body exceeds 1048576 bytes',
        details: { limitBytes: 1024 * 1024 },
      },
    })
    expect(res?.headers['x-content-type-options']).toBe('nosniff')
    expect(
      after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers
    ).toBeLessThan(16 * 1024 * 1024)
    expect(calls.n).toBe(0)
  })

  it('an unknown coding → 415', async () => {
    calls.n = 0
    const [res] = (await send(Buffer.from('{"a":1}'), 'compress')).responses
    expect(res?.status).toBe(415)
    expect(JSON.parse(res?.body ?? '').error.code).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect(res?.headers['x-content-type-options']).toBe('nosniff')
    expect(calls.n).toBe(0)
  })
})
