/**
 * @module @aikit/core/compress
 * Response compression for `ctx.respond` bodies and the responses the framework writes itself
 * (through the adapter hook `ctx.transformBody`): br, gzip, and zstd where the runtime has it,
 * streaming-safe for SSE. Node only: it uses `node:zlib`.
 */
export { HAS_ZSTD } from './codecs.js'
export { isCompressibleType, mediaType } from './content-type.js'
export { compress } from './middleware.js'
export { type CompressEncoding, negotiateEncoding, parseAcceptEncoding } from './negotiate.js'
export type { CompressOptions } from './options.js'
