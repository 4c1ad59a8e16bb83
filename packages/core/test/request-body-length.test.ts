/**
 * limitWebBody holds a Web body to its declared Content-Length (`declaredBytes`): a Web `Request`
 * built on a stream does not, so a body that ends short (an incomplete message, RFC 9112 §6.3)
 * or runs past it must fail with the kit's 400 rather than reach the parser as if whole.
 */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { AikitError } from '../src/errors.js'
import { limitWebBody, readWebBody } from '../src/request-body.js'

const text = new TextEncoder()

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk)
      c.close()
    },
  })
}

describe('limitWebBody with a declared Content-Length', () => {
  it('fails with 400 when the body ends before its declared length, and reports it once', async () => {
    const failures: AikitError[] = []
    const stream = limitWebBody(streamOf(text.encode('{"a":'), text.encode('1')), {
      maxBytes: 1000,
      timeoutMs: 0,
      codings: [],
      declaredBytes: 20,
      onFail: (e) => failures.push(e),
    })
    await expect(readWebBody(stream)).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      message: 'The request body ended before its declared Content-Length',
      details: { declaredBytes: 20 },
    })
    expect(failures).toHaveLength(1)
  })

  it('fails with 400 as soon as the body runs past its declared length, cancelling the source', async () => {
    let cancelled = false
    let pulls = 0
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        pulls++
        c.enqueue(new Uint8Array(8))
      },
      cancel() {
        cancelled = true
      },
    })
    const stream = limitWebBody(source, {
      maxBytes: 1000,
      timeoutMs: 0,
      codings: [],
      declaredBytes: 10,
    })
    await expect(readWebBody(stream)).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      message: 'The request body is longer than its declared Content-Length',
    })
    expect(cancelled).toBe(true)
    expect(pulls).toBeLessThan(5)
  })

  it('passes a body of exactly its declared length, and an empty one declared 0', async () => {
    const whole = await readWebBody(
      limitWebBody(streamOf(text.encode('hel'), text.encode('lo')), {
        maxBytes: 5,
        timeoutMs: 0,
        codings: [],
        declaredBytes: 5,
      })
    )
    expect(new TextDecoder().decode(whole)).toBe('hello')
    const empty = await readWebBody(
      limitWebBody(streamOf(), { maxBytes: 5, timeoutMs: 0, codings: [], declaredBytes: 0 })
    )
    expect(empty.byteLength).toBe(0)
  })

  it('counts the encoded bytes against the length of an encoded body', async () => {
    const gz = gzipSync('x'.repeat(1000))
    const limits = { maxBytes: 2000, timeoutMs: 0, codings: ['gzip' as const] }
    const whole = await readWebBody(
      limitWebBody(streamOf(gz), { ...limits, declaredBytes: gz.byteLength })
    )
    expect(whole.byteLength).toBe(1000)
    await expect(
      readWebBody(
        limitWebBody(streamOf(gz.subarray(0, 10)), { ...limits, declaredBytes: gz.byteLength })
      )
    ).rejects.toMatchObject({
      status: 400,
      message: 'The request body ended before its declared Content-Length',
    })
    await expect(
      readWebBody(limitWebBody(streamOf(gz), { ...limits, declaredBytes: gz.byteLength - 1 }))
    ).rejects.toMatchObject({
      status: 400,
      message: 'The request body is longer than its declared Content-Length',
    })
  })
})

describe('limitWebBody with a Content-Length that is no length', () => {
  it.each([[[]], [['gzip' as const]]])(
    'fails the first read with 400 (codings %j), reports it once and cancels the source',
    async (codings) => {
      let cancelled = false
      const source = new ReadableStream<Uint8Array>({
        pull(c) {
          c.enqueue(text.encode('{"a":1}'))
        },
        cancel() {
          cancelled = true
        },
      })
      const failures: AikitError[] = []
      const stream = limitWebBody(source, {
        maxBytes: 1000,
        timeoutMs: 0,
        codings,
        declaredBytes: 'invalid',
        onFail: (error) => failures.push(error),
      })
      await expect(readWebBody(stream)).rejects.toMatchObject({
        status: 400,
        code: 'INVALID_REQUEST',
        message: 'The request Content-Length is not a valid length',
      })
      expect(failures).toHaveLength(1)
      expect(cancelled).toBe(true)
    }
  )
})
