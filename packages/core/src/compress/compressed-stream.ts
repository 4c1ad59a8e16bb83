/**
 * @module compress/compressed-stream
 * Compresses a streamed body chunk by chunk. After every source chunk the compressor is flushed
 * (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH / ZSTD_e_flush) and its output handed on, so each SSE
 * event reaches the client as soon as it is produced: time to first token is unchanged.
 * `return()` cancels the source at once, even while a read is pending (a client that goes away
 * must stop the LLM call behind the stream).
 */
import { type CodecLevels, createCompressor, type ZlibStream } from './codecs.js'
import type { CompressEncoding } from './negotiate.js'

/** What `ctx.respond` accepts as a streamed body. */
export type StreamSource = ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>

interface SourceReader {
  read(): Promise<IteratorResult<Uint8Array | string>>
  cancel(): void
}

const encoder = new TextEncoder()
const DONE: IteratorResult<Uint8Array> = { done: true, value: undefined }

function noop(): void {}

function readerOf(source: StreamSource): SourceReader {
  if (typeof (source as ReadableStream).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array | string>).getReader()
    return {
      read: () => reader.read() as Promise<IteratorResult<Uint8Array | string>>,
      cancel: () => {
        reader.cancel().catch(noop)
      },
    }
  }
  const iterator = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
  return {
    read: () => iterator.next(),
    cancel: () => {
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(noop)
    },
  }
}

function concat(parts: Buffer[]): Buffer | undefined {
  if (parts.length === 0) return undefined
  return parts.length === 1 ? parts[0] : Buffer.concat(parts)
}

/** The compressed body: an async iterable of compressed chunks, one (or none) per source chunk. */
export class CompressedStream implements AsyncIterableIterator<Uint8Array> {
  private readonly source: SourceReader
  private readonly zlib: ZlibStream
  private readonly flushKind: number
  private done = false
  /** Settles a flush in progress when the stream is closed under it (zlib then never calls back). */
  private abandonFlush: (() => void) | undefined = undefined
  private failure: unknown = undefined
  /** The compressor's output not yet handed on. */
  private output: Buffer[] = []
  private readonly onError = (error: unknown): void => {
    this.failure = error ?? new Error('compression failed')
  }

  constructor(source: StreamSource, encoding: CompressEncoding, levels: CodecLevels) {
    this.source = readerOf(source)
    const { stream, flushKind } = createCompressor(encoding, levels)
    this.zlib = stream
    this.flushKind = flushKind
    // Read all the time, not only once a flush is done: zlib stops compressing while 16 KiB of
    // its output are unread, so a chunk whose compressed form is larger never finished flushing.
    stream.on('data', (c) => {
      this.output.push(c)
    })
    // `on`, not `once`: a second 'error' without a listener would crash the process.
    stream.on('error', this.onError)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    while (!this.done) {
      let result: IteratorResult<Uint8Array | string>
      try {
        result = await this.source.read()
      } catch (error) {
        this.close()
        throw error
      }
      if (this.done) break
      if (result.done) {
        this.done = true
        const tail = await this.finish()
        return tail === undefined ? DONE : { done: false, value: tail }
      }
      const value = result.value
      const chunk = typeof value === 'string' ? encoder.encode(value) : value
      if (chunk.byteLength === 0) continue
      const out = await this.writeAndFlush(chunk)
      if (out !== undefined) return { done: false, value: out }
    }
    return DONE
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.done) {
      this.done = true
      this.source.cancel()
      this.close()
    }
    return Promise.resolve(DONE)
  }

  private close(): void {
    this.done = true
    this.zlib.close()
    this.abandonFlush?.()
  }

  private writeAndFlush(chunk: Uint8Array): Promise<Buffer | undefined> {
    const z = this.zlib
    return new Promise((resolve, reject) => {
      this.abandonFlush = () => resolve(undefined)
      z.write(chunk)
      z.flush(this.flushKind, () => {
        this.abandonFlush = undefined
        if (this.failure !== undefined) {
          this.source.cancel()
          this.close()
          reject(this.failure)
          return
        }
        resolve(this.take())
      })
    })
  }

  /** The output collected so far (what a flush or the end emitted), handed on once. */
  private take(): Buffer | undefined {
    // Output zlib pushed that the stream holds rather than emitted (it was not flowing yet):
    // read() emits it as 'data' too.
    const z = this.zlib
    while (z.read() !== null);
    const parts = this.output
    if (parts.length === 0) return undefined
    this.output = []
    return concat(parts)
  }

  private finish(): Promise<Buffer | undefined> {
    const z = this.zlib
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure)
        return
      }
      z.once('error', (error) => reject(error))
      z.once('end', () => resolve(this.take()))
      z.end()
    })
  }
}
