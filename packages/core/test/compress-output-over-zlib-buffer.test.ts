/**
 * compress()'s streaming codecs hand on a chunk whose compressed form is larger than zlib's 16 KiB
 * readable buffer: zlib stops compressing while that much of its output is unread, so the output
 * is read as it comes, not only once the flush after the chunk is done (which then never came:
 * the response hung). Every write still returns everything it produced (flushed), in order.
 */
import { randomBytes } from 'node:crypto'
import { brotliDecompressSync, constants, gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { CodecTransform } from '../src/compress/codec-transform.js'
import { CompressedStream } from '../src/compress/compressed-stream.js'

const LEVELS = { brotliQuality: 4, gzipLevel: 6, zstdLevel: 3, syncMaxBytes: 65_536 }

/** Text that compresses poorly (base64 of random bytes): 80 000 characters, ~60 KB compressed. */
const RANDOM_TEXT = randomBytes(60_000).toString('base64')

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

function decode(enc: 'gzip' | 'br', raw: Buffer): string {
  return String(enc === 'gzip' ? gunzipSync(raw) : brotliDecompressSync(raw))
}

describe('CompressedStream (respond bodies) with a chunk over 16 KiB compressed', () => {
  it.each(['gzip', 'br'] as const)('%s: yields the chunk and ends', async (enc) => {
    async function* source() {
      yield RANDOM_TEXT
      yield RANDOM_TEXT.slice(0, 30_000)
    }
    const stream = new CompressedStream(source(), enc, LEVELS)
    const parts: Buffer[] = []
    await within(
      (async () => {
        for await (const c of stream) parts.push(Buffer.from(c))
      })(),
      5000,
      'CompressedStream'
    )
    expect(decode(enc, Buffer.concat(parts))).toBe(RANDOM_TEXT + RANDOM_TEXT.slice(0, 30_000))
  })
})

describe('CodecTransform (framework-written bodies) with a chunk over 16 KiB compressed', () => {
  it.each(['gzip', 'br'] as const)(
    '%s: write settles with the whole chunk flushed',
    async (enc) => {
      const t = new CodecTransform(enc, LEVELS)
      const first = Buffer.from(
        await within(Promise.resolve(t.write(Buffer.from(RANDOM_TEXT))), 5000, 'write')
      )
      if (enc === 'gzip') {
        // Flushed: what the write returned decodes to the chunk before the stream ends.
        const partial = gunzipSync(first, { finishFlush: constants.Z_SYNC_FLUSH })
        expect(String(partial)).toBe(RANDOM_TEXT)
      }
      const second = await within(Promise.resolve(t.write(Buffer.from(RANDOM_TEXT))), 5000, 'write')
      const last = await within(Promise.resolve(t.end()), 5000, 'end')
      expect(decode(enc, Buffer.concat([first, second, last]))).toBe(RANDOM_TEXT + RANDOM_TEXT)
    }
  )

  it.each(['gzip', 'br'] as const)(
    '%s: end with a body over syncMaxBytes streams it whole',
    async (enc) => {
      const t = new CodecTransform(enc, { ...LEVELS, syncMaxBytes: 1024 })
      const out = await within(Promise.resolve(t.end(Buffer.from(RANDOM_TEXT))), 5000, 'end')
      expect(decode(enc, Buffer.from(out))).toBe(RANDOM_TEXT)
    }
  )
})
