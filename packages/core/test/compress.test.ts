import { brotliDecompressSync, constants, gunzipSync } from 'node:zlib'
import {
  compress,
  HAS_ZSTD,
  isCompressibleType,
  mediaType,
  negotiateEncoding,
  parseAcceptEncoding,
} from '@aikit/core/compress'
import { invalidField } from '@aikit/testing/invalid-field'
import { describe, expect, it } from 'vitest'
import { CompressedStream } from '../src/compress/compressed-stream.js'
import { encodingNegotiator } from '../src/compress/negotiate.js'

const ALL = ['br', 'gzip'] as const

describe('negotiateEncoding', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, br', 'br'], // equal weights: the server's order decides
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['*;q=0', undefined],
    ['deflate', undefined],
    ['GZIP', 'gzip'],
    ['gzip;q=0.5, identity', undefined], // the client prefers it uncompressed
    ['gzip;q=0.5, identity;q=0.2', 'gzip'],
    ['gzip;q=2', undefined], // a malformed weight: the entry is ignored
    ['gzip ; q=0.8', 'gzip'],
  ])('%s → %s', (header, expected) => {
    expect(negotiateEncoding(header, ALL)).toBe(expected)
  })

  it('follows the configured preference order on ties', () => {
    expect(negotiateEncoding('br, gzip', ['gzip', 'br'])).toBe('gzip')
    expect(negotiateEncoding('*', ['gzip', 'br'])).toBe('gzip')
  })

  it("the middleware's remembered answers are negotiateEncoding's, for repeated, many distinct and long values", () => {
    const headers = [
      undefined,
      '',
      'identity',
      'gzip',
      'GZIP',
      'gzip, deflate, br, zstd',
      'br;q=0, gzip',
      '*;q=0',
      'gzip;q=0.5, identity',
      'gzip;q=2',
      // Past the remembered length: parsed every time.
      `${'x-coding, '.repeat(40)}gzip`,
      `${'x-coding, '.repeat(40)}br;q=0, gzip;q=0`,
    ]
    // More distinct values than it remembers, so it forgets them all at least once.
    for (let i = 0; i < 150; i++) headers.push(i % 2 ? `gzip;q=0.${i % 10}, x${i}` : `x${i}, br`)
    for (const offered of [ALL, ['gzip', 'br'] as const]) {
      const negotiate = encodingNegotiator(offered)
      for (let round = 0; round < 3; round++) {
        for (const header of headers) {
          expect(negotiate(header), String(header)).toBe(negotiateEncoding(header, offered))
        }
      }
    }
  })

  it('parses weights, keeping the highest of repeated codings', () => {
    expect([...parseAcceptEncoding('gzip;q=0.2, br, gzip;q=0.7, ;q=1')]).toEqual([
      ['gzip', 0.7],
      ['br', 1],
    ])
  })
})

describe('compressible media types', () => {
  it.each([
    ['text/html', true],
    ['text/event-stream', true],
    ['application/json', true],
    ['application/problem+json', true],
    ['application/vnd.github+json', true],
    ['application/javascript', true],
    ['image/svg+xml', true],
    ['application/xml', true],
    ['application/x-ndjson', true],
    ['image/png', false],
    ['image/jpeg', false],
    ['video/mp4', false],
    ['audio/mpeg', false],
    ['application/zip', false],
    ['application/gzip', false],
    ['application/octet-stream', false],
    ['font/woff2', false],
    ['', false],
  ])('%s → %s', (type, expected) => {
    expect(isCompressibleType(type)).toBe(expected)
  })

  it('mediaType drops parameters and case', () => {
    expect(mediaType('Application/JSON; charset=utf-8')).toBe('application/json')
  })
})

describe('compress() options', () => {
  it('names the invalid field', () => {
    expect(invalidField(() => compress(null as never))).toBe('options')
    expect(invalidField(() => compress({ encodings: [] }))).toBe('encodings')
    expect(invalidField(() => compress({ encodings: ['gzip', 'deflate' as never] }))).toBe(
      'encodings[1]'
    )
    expect(invalidField(() => compress({ threshold: -1 }))).toBe('threshold')
    expect(invalidField(() => compress({ filter: 'json' as never }))).toBe('filter')
    expect(invalidField(() => compress({ brotliQuality: 12 }))).toBe('brotliQuality')
    expect(invalidField(() => compress({ gzipLevel: 0 }))).toBe('gzipLevel')
    expect(invalidField(() => compress({ zstdLevel: 1.5 }))).toBe('zstdLevel')
    expect(invalidField(() => compress({ syncMaxBytes: Number.NaN }))).toBe('syncMaxBytes')
  })

  it('refuses a misspelt option instead of leaving its default (1024, quality 4) in place', () => {
    const misspelt = () => compress({ treshold: 0, brotliQuality: 11 } as never)
    expect(invalidField(misspelt)).toBe('treshold')
    expect(() => misspelt()).toThrow('did you mean `threshold`?')
    expect(invalidField(() => compress({ brotliQualty: 11 } as never))).toBe('brotliQualty')
  })

  it('drops zstd where the runtime lacks it', () => {
    if (HAS_ZSTD) expect(typeof compress({ encodings: ['zstd'] })).toBe('function')
    else expect(invalidField(() => compress({ encodings: ['zstd'] }))).toBe('encodings')
  })
})

/** A source whose chunks are released one at a time by the test. */
function gatedSource(): {
  source: AsyncIterable<string>
  push(chunk: string): void
  end(): void
  cancelled: () => boolean
} {
  const queue: (string | null)[] = []
  let wake: (() => void) | undefined
  let cancelled = false
  const source: AsyncIterable<string> = {
    [Symbol.asyncIterator]() {
      return {
        async next() {
          while (queue.length === 0) await new Promise<void>((r) => (wake = r))
          const v = queue.shift()!
          return v === null ? { done: true, value: undefined } : { done: false, value: v }
        },
        async return() {
          cancelled = true
          return { done: true, value: undefined }
        },
      }
    },
  }
  const put = (v: string | null): void => {
    queue.push(v)
    wake?.()
  }
  return { source, push: put, end: () => put(null), cancelled: () => cancelled }
}

describe('CompressedStream', () => {
  it.each([
    ['gzip', (b: Buffer) => gunzipSync(b, { finishFlush: constants.Z_SYNC_FLUSH })],
    [
      'br',
      (b: Buffer) => brotliDecompressSync(b, { finishFlush: constants.BROTLI_OPERATION_FLUSH }),
    ],
  ] as const)('%s: each chunk decodes before the source ends', async (encoding, decode) => {
    const gate = gatedSource()
    const stream = new CompressedStream(gate.source, encoding, {
      brotliQuality: 4,
      gzipLevel: 6,
      zstdLevel: 3,
    })
    gate.push('data: first\n\n')
    const first = await stream.next()
    expect(first.done).toBe(false)
    const parts = [Buffer.from(first.value!)]
    // The source has not ended: the first event is already complete in what we got.
    expect(String(decode(Buffer.concat(parts)))).toBe('data: first\n\n')
    gate.push('data: second\n\n')
    parts.push(Buffer.from((await stream.next()).value!))
    gate.end()
    for (let r = await stream.next(); !r.done; r = await stream.next())
      parts.push(Buffer.from(r.value))
    const full =
      encoding === 'gzip'
        ? gunzipSync(Buffer.concat(parts))
        : brotliDecompressSync(Buffer.concat(parts))
    expect(String(full)).toBe('data: first\n\ndata: second\n\n')
  })

  it('return() cancels the source even while a read is pending', async () => {
    const gate = gatedSource()
    const stream = new CompressedStream(gate.source, 'gzip', {
      brotliQuality: 4,
      gzipLevel: 6,
      zstdLevel: 3,
    })
    gate.push('x')
    await stream.next()
    const pending = stream.next()
    await stream.return()
    expect(gate.cancelled()).toBe(true)
    gate.end()
    expect((await pending).done).toBe(true)
  })

  it('passes a source error on', async () => {
    const failing: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('upstream broke')) }),
    }
    const stream = new CompressedStream(failing, 'br', {
      brotliQuality: 4,
      gzipLevel: 6,
      zstdLevel: 3,
    })
    await expect(stream.next()).rejects.toThrow('upstream broke')
  })
})
