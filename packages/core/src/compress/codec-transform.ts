/**
 * @module compress/codec-transform
 * The `BodyTransform` `compress()` hands an adapter for a body the framework writes itself. A body
 * written in one go (`res.json`, a Fastify reply, `res.end(body)`) is compressed in one call
 * (synchronously up to `syncMaxBytes`); a body written in chunks (SSE with `res.write` per event)
 * goes through a streaming compressor flushed after every chunk, so each event reaches the client
 * when it is written.
 */
import type { BodyTransform } from '../types.js'
import { type CodecLevels, compressSync, createCompressor, type ZlibStream } from './codecs.js'
import type { CompressEncoding } from './negotiate.js'

const EMPTY = new Uint8Array(0)
const NO_OUTPUT: Buffer[] = []

function concat(parts: Buffer[]): Uint8Array {
  if (parts.length === 0) return EMPTY
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
}

/** Compresses the bytes an adapter writes, in the order it writes them. */
export class CodecTransform implements BodyTransform {
  private zlib: ZlibStream | undefined = undefined
  private flushKind = 0
  private failure: unknown = undefined
  private closed = false
  /** Settles a flush in progress when the transform is aborted under it (zlib never calls back). */
  private abandonFlush: (() => void) | undefined = undefined
  /** The compressor's output not yet handed on (created with the compressor: a body compressed in
   * one call needs neither). */
  private output: Buffer[] = NO_OUTPUT

  constructor(
    private readonly encoding: CompressEncoding,
    private readonly levels: CodecLevels & { syncMaxBytes: number }
  ) {}

  write(chunk: Uint8Array): Uint8Array | Promise<Uint8Array> {
    if (chunk.byteLength === 0) return EMPTY
    const z = this.stream()
    return new Promise((resolve, reject) => {
      this.abandonFlush = () => resolve(EMPTY)
      z.write(chunk)
      z.flush(this.flushKind, () => {
        this.abandonFlush = undefined
        if (this.failure !== undefined) {
          reject(this.failure)
          return
        }
        resolve(this.take())
      })
    })
  }

  end(last?: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const body = last ?? EMPTY
    if (this.zlib === undefined && body.byteLength <= this.levels.syncMaxBytes) {
      // The whole body at once: the cheapest path, and the one a framework's res.json takes.
      this.closed = true
      return compressSync(this.encoding, body, this.levels)
    }
    const z = this.stream()
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure)
        return
      }
      z.once('error', (error) => reject(error))
      z.once('end', () => {
        this.closed = true
        resolve(this.take())
      })
      if (body.byteLength > 0) z.write(body)
      z.end()
    })
  }

  abort(): void {
    if (this.closed) return
    this.closed = true
    this.zlib?.close()
    this.abandonFlush?.()
  }

  /** The output collected so far (what a flush or the end emitted), handed on once. */
  private take(): Uint8Array {
    // Output zlib pushed that the stream holds rather than emitted (it was not flowing yet):
    // read() emits it as 'data' too.
    const z = this.zlib
    if (z !== undefined) while (z.read() !== null);
    const parts = this.output
    if (parts.length === 0) return EMPTY
    this.output = []
    return concat(parts)
  }

  private stream(): ZlibStream {
    if (this.zlib === undefined) {
      const { stream, flushKind } = createCompressor(this.encoding, this.levels)
      this.zlib = stream
      this.flushKind = flushKind
      // Read all the time, not only once a flush is done: zlib stops compressing while 16 KiB of
      // its output are unread, so a chunk whose compressed form is larger never finished flushing.
      this.output = []
      stream.on('data', (c) => {
        this.output.push(c)
      })
      // `on`, not `once`: a second 'error' without a listener would crash the process.
      stream.on('error', (error) => {
        this.failure = error ?? new Error('compression failed')
      })
    }
    return this.zlib
  }
}
