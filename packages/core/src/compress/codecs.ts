/**
 * @module compress/codecs
 * The Node zlib codecs behind `compress()`: one-shot compression for buffered bodies and a
 * streaming compressor that flushes after each chunk, so a streamed body (SSE) reaches the client
 * event by event. zstd exists only where `zlib.createZstdCompress` does (Node >= 22.15 / 23.8).
 */
import zlib from 'node:zlib'
import type { CompressEncoding } from './negotiate.js'

/** Levels per coding, resolved from the options. */
export interface CodecLevels {
  brotliQuality: number
  gzipLevel: number
  zstdLevel: number
}

/** A zlib Transform, as much of it as the streaming path uses. */
export interface ZlibStream {
  write(chunk: Uint8Array): boolean
  flush(kind: number, callback: () => void): void
  read(): Buffer | null
  end(): void
  close(): void
  destroy(): void
  on(event: 'data', fn: (chunk: Buffer) => void): unknown
  on(event: 'error', fn: (error: unknown) => void): unknown
  once(event: 'end' | 'error', fn: (arg?: unknown) => void): unknown
}

interface ZstdZlib {
  createZstdCompress?: (options: object) => ZlibStream
  zstdCompressSync?: (data: Uint8Array, options: object) => Buffer
}

const z = zlib as typeof zlib & ZstdZlib
const constants = zlib.constants as typeof zlib.constants & Record<string, number | undefined>

/** True when this runtime's zlib has zstd. */
export const HAS_ZSTD =
  typeof z.createZstdCompress === 'function' && typeof z.zstdCompressSync === 'function'

function brotliOptions(levels: CodecLevels): zlib.BrotliOptions {
  return { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: levels.brotliQuality } }
}

function zstdOptions(levels: CodecLevels): object {
  const key = constants.ZSTD_c_compressionLevel
  return key === undefined ? {} : { params: { [key]: levels.zstdLevel } }
}

/** Compresses a whole body at once. */
export function compressSync(
  encoding: CompressEncoding,
  body: Uint8Array,
  levels: CodecLevels
): Buffer {
  switch (encoding) {
    case 'br':
      return zlib.brotliCompressSync(body, brotliOptions(levels))
    case 'gzip':
      return zlib.gzipSync(body, { level: levels.gzipLevel })
    case 'zstd':
      return (z.zstdCompressSync as NonNullable<ZstdZlib['zstdCompressSync']>)(
        body,
        zstdOptions(levels)
      )
  }
}

/** A streaming compressor and the flush mode that emits everything written so far. */
export function createCompressor(
  encoding: CompressEncoding,
  levels: CodecLevels
): { stream: ZlibStream; flushKind: number } {
  switch (encoding) {
    case 'br':
      return {
        stream: zlib.createBrotliCompress(brotliOptions(levels)) as unknown as ZlibStream,
        flushKind: zlib.constants.BROTLI_OPERATION_FLUSH,
      }
    case 'gzip':
      return {
        stream: zlib.createGzip({ level: levels.gzipLevel }) as unknown as ZlibStream,
        flushKind: zlib.constants.Z_SYNC_FLUSH,
      }
    case 'zstd':
      return {
        stream: (z.createZstdCompress as NonNullable<ZstdZlib['createZstdCompress']>)(
          zstdOptions(levels)
        ),
        flushKind: constants.ZSTD_e_flush ?? 1,
      }
  }
}
