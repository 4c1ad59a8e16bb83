/**
 * @module compress/options
 * The options of `compress()`, declared once with their defaults, validated at construction.
 */
import { InvalidOptionsError } from '../errors.js'
import { rejectUnknownOptions } from '../known-options.js'
import { type CodecLevels, HAS_ZSTD } from './codecs.js'
import { isCompressibleType } from './content-type.js'
import type { CompressEncoding } from './negotiate.js'

/** Options of `compress()`. */
export interface CompressOptions {
  /**
   * The codings offered, in server preference order (it breaks ties between codings the client
   * weighs equally). `zstd` is dropped where the runtime lacks it (Node < 22.15; Node 20 has none).
   * @default ['br', 'zstd', 'gzip']
   */
  encodings?: readonly CompressEncoding[]
  /**
   * Smallest body compressed, in bytes. A streamed body is always compressed (its size is
   * unknown) unless its `Content-Length` is given and smaller. @default 1024
   */
  threshold?: number
  /**
   * Which media types to compress, given the lower-case type without parameters
   * (`application/json`). @default isCompressibleType (text, JSON, JS, XML/SVG, event-stream)
   */
  filter?: (mediaType: string) => boolean
  /** Brotli quality, 0-11 (11 is far too slow for live responses). @default 4 */
  brotliQuality?: number
  /** gzip level, 1-9. @default 6 */
  gzipLevel?: number
  /** zstd level, 1-19. @default 3 */
  zstdLevel?: number
  /**
   * Buffered bodies up to this size are compressed synchronously (cheapest for small answers);
   * larger ones go through zlib's thread pool so the event loop stays free. @default 65536
   */
  syncMaxBytes?: number
}

/** Validated options. */
export interface ResolvedCompressOptions extends CodecLevels {
  encodings: readonly CompressEncoding[]
  threshold: number
  filter: (mediaType: string) => boolean
  syncMaxBytes: number
}

const KNOWN: readonly CompressEncoding[] = ['br', 'zstd', 'gzip']

/**
 * The keys of `CompressOptions`: any other is refused. A record, not a list, so that the compiler
 * flags a key added to `CompressOptions` and missing here.
 */
const COMPRESS_OPTION_KEYS = Object.keys({
  encodings: true,
  threshold: true,
  filter: true,
  brotliQuality: true,
  gzipLevel: true,
  zstdLevel: true,
  syncMaxBytes: true,
} satisfies Record<keyof CompressOptions, true>)

function int(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(field, `must be an integer from ${min} to ${max}`)
  }
  return value
}

/**
 * Validates `compress()` options; throws `InvalidOptionsError` naming the bad field, an unknown key
 * included (`brotliQualty`): a misspelt option is not left to its default.
 */
export function resolveCompressOptions(options: CompressOptions): ResolvedCompressOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'must be an object')
  }
  rejectUnknownOptions(options, COMPRESS_OPTION_KEYS)
  const requested = options.encodings ?? KNOWN
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new InvalidOptionsError('encodings', 'must be a non-empty array of br, zstd, gzip')
  }
  requested.forEach((e, i) => {
    if (!KNOWN.includes(e)) {
      throw new InvalidOptionsError(`encodings[${i}]`, 'must be one of br, zstd, gzip')
    }
  })
  const encodings = [...new Set(requested)].filter((e) => e !== 'zstd' || HAS_ZSTD)
  if (encodings.length === 0) {
    throw new InvalidOptionsError('encodings', 'none of them is available in this runtime')
  }
  if (options.filter !== undefined && typeof options.filter !== 'function') {
    throw new InvalidOptionsError('filter', 'must be a function (mediaType) => boolean')
  }
  return {
    encodings,
    threshold: int('threshold', options.threshold, 1024, 0, 2 ** 31 - 1),
    filter: options.filter ?? isCompressibleType,
    brotliQuality: int('brotliQuality', options.brotliQuality, 4, 0, 11),
    gzipLevel: int('gzipLevel', options.gzipLevel, 6, 1, 9),
    zstdLevel: int('zstdLevel', options.zstdLevel, 3, 1, 19),
    syncMaxBytes: int('syncMaxBytes', options.syncMaxBytes, 65_536, 0, 2 ** 31 - 1),
  }
}
