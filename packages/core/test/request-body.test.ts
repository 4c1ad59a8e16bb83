/**
 * The edge-safe body reader behind every limited body read (request-body.ts): Content-Encoding
 * parsing, the decoded-size limit, the idle timeout while a reader waits, decode failures.
 */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import {
  limitWebBody,
  parseContentEncoding,
  RequestTimeoutError,
  readWebBody,
} from '../src/request-body.js'

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk)
      c.close()
    },
  })
}

describe('parseContentEncoding', () => {
  it('lists the codings as applied; identity dropped; unknown → null', () => {
    expect(parseContentEncoding(undefined)).toEqual([])
    expect(parseContentEncoding('identity')).toEqual([])
    expect(parseContentEncoding(' GZIP ')).toEqual(['gzip'])
    expect(parseContentEncoding('x-gzip')).toEqual(['gzip'])
    expect(parseContentEncoding('deflate, br')).toEqual(['deflate', 'br'])
    expect(parseContentEncoding('gzip, compress')).toBeNull()
    expect(parseContentEncoding('zstd')).toBeNull()
  })

  // Each coding is a decoder chained on the next: 2000 of them (a 10 KB header) over a body
  // nested as deep kept a request's decoders busy for 20 s. At most 5, as undici's fetch.
  it('refuses more than 5 stacked codings (identity not counted)', () => {
    const stack = (n: number) => Array<string>(n).fill('gzip').join(', ')
    expect(parseContentEncoding(stack(5))).toEqual(Array(5).fill('gzip'))
    expect(parseContentEncoding(`identity, ${stack(5)}, identity`)).toHaveLength(5)
    expect(parseContentEncoding(stack(6))).toBeNull()
    expect(parseContentEncoding('br, deflate, gzip, br, deflate, gzip')).toBeNull()
    expect(parseContentEncoding(stack(2000))).toBeNull()
  })
})

describe('limitWebBody', () => {
  it('passes a body within the limit through unchanged', async () => {
    const bytes = new TextEncoder().encode('hello')
    const out = await readWebBody(
      limitWebBody(streamOf(bytes), { maxBytes: 5, timeoutMs: 0, codings: [] })
    )
    expect(new TextDecoder().decode(out)).toBe('hello')
  })

  it('fails with 413 once the DECODED size passes the limit, and reports it once', async () => {
    const failures: unknown[] = []
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024))
    const stream = limitWebBody(streamOf(bomb), {
      maxBytes: 64 * 1024,
      timeoutMs: 0,
      codings: ['gzip'],
      onFail: (e) => failures.push(e),
    })
    await expect(readWebBody(stream)).rejects.toMatchObject({ status: 413 })
    expect(failures).toHaveLength(1)
  })

  it('decodes gzip then deflate in reverse order of application', async () => {
    const { deflateSync } = await import('node:zlib')
    const twice = gzipSync(deflateSync('layered'))
    const out = await readWebBody(
      limitWebBody(streamOf(twice), { maxBytes: 100, timeoutMs: 0, codings: ['deflate', 'gzip'] })
    )
    expect(new TextDecoder().decode(out)).toBe('layered')
  })

  it('fails with 400 for bytes that do not decode', async () => {
    const stream = limitWebBody(streamOf(new TextEncoder().encode('not gzip')), {
      maxBytes: 100,
      timeoutMs: 0,
      codings: ['gzip'],
    })
    await expect(readWebBody(stream)).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
    })
  })

  it('fails with 408 when no chunk comes while the reader waits', async () => {
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10)) // …then nothing, never closed
      },
    })
    const stream = limitWebBody(source, { maxBytes: 100, timeoutMs: 50, codings: [] })
    const error = await readWebBody(stream).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestTimeoutError)
    expect(error).toMatchObject({
      status: 408,
      code: 'REQUEST_TIMEOUT',
      details: { timeoutMs: 50 },
    })
  })
})
