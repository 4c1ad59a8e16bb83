/**
 * @module shared/pump
 * Writes a `respond` stream body into a Node response with backpressure, and releases a stream
 * body that will never be written.
 */
import type { ServerResponse } from 'node:http'
import type { AikitError, FinishInfo } from '@aikit/core'
import type { NormalizedBody } from '@aikit/core/adapter'
import { lengthMismatch } from './content-length.js'

/** A body given to `respond` as a stream. */
export type StreamBody = ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>

/** What the pump needs from the Context. */
export interface PumpContext {
  /** Reports a source error (the response is then destroyed). */
  fail(error: unknown): void
  /** Called once when the response is done: complete, or abandoned by the client. */
  onFinish(fn: (info: FinishInfo) => void): void
}

interface Source {
  read(): Promise<IteratorResult<Uint8Array | string>>
  /** Releases the source (`reader.cancel()` / `iterator.return()`); never throws. */
  cancel(): void
}

function noop(): void {}

function sourceOf(stream: StreamBody): Source {
  if (typeof (stream as ReadableStream).getReader === 'function') {
    const reader = (stream as ReadableStream<Uint8Array | string>).getReader()
    return {
      read: () => reader.read() as Promise<IteratorResult<Uint8Array | string>>,
      cancel: () => {
        reader.cancel().catch(noop)
      },
    }
  }
  const iterator = (stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
  return {
    read: () => iterator.next(),
    cancel: () => {
      if (typeof iterator.return === 'function') {
        // On a later tick: a hand-written iterator may not expect return() inside its own next().
        Promise.resolve()
          .then(() => iterator.return?.())
          .catch(noop)
      }
    },
  }
}

/**
 * Releases a `respond` body that will not be written (the client left before it was handed
 * over): a stream is cancelled, as the pump would have cancelled it. Other bodies hold nothing.
 */
export function dropBody(body: NormalizedBody): void {
  if (body.kind !== 'stream') return
  try {
    sourceOf(body.stream).cancel()
  } catch {
    // A locked or broken source: its reader's owner releases it.
  }
}

/**
 * Pumps a stream body into the response with backpressure. Strings are UTF-8 encoded. When the
 * response ends before the source does (the client went away, including a pipelined response
 * still queued behind another, which Node never closes: see `NodeContext.watchLifecycle`), the
 * source is cancelled and a wait for 'drain' ends; an error in the source destroys the response
 * and is reported through `ctx.fail` (which calls `onError`).
 *
 * `length` is the Content-Length the head declared, if any. On a keep-alive connection the client
 * takes exactly that many bytes as this body and the next ones as the next response, so the
 * source is held to it: a chunk that would run past it is not written (the source is cancelled),
 * and a source that ends short is not ended as a complete response. Either way the response is
 * destroyed (the client sees a broken response, never a misframed one) and the mismatch reported
 * like a source error. Node's own `res.strictContentLength` (Node >= 18.10) is not used: it
 * throws `ERR_HTTP_CONTENT_LENGTH_MISMATCH` from inside `write` / `end` (also from a body
 * transform's writes, far from any handler) and leaves the response open: the connection would
 * still have to be destroyed here, and the count is one comparison per chunk.
 */
export async function pump(
  ctx: PumpContext,
  res: ServerResponse,
  stream: StreamBody,
  headOnly: boolean,
  length?: number
): Promise<void> {
  let settled = false
  let source: Source | undefined
  /** Ends the current wait for 'drain', if any. */
  let wake: (() => void) | undefined
  const stop = (): void => {
    if (settled) return
    settled = true
    source?.cancel()
    wake?.()
  }
  try {
    source = sourceOf(stream)
    if (headOnly || res.destroyed) {
      stop()
      if (!res.destroyed) res.end()
      return
    }
    ctx.onFinish(stop)
    let left = length
    for (;;) {
      const result = await source.read()
      if (settled) return
      if (result.done) break
      const value = result.value
      const chunk = typeof value === 'string' ? Buffer.from(value) : value
      if (chunk.byteLength === 0) continue
      if (left !== undefined) {
        if (chunk.byteLength > left) {
          broken(ctx, res, stop, lengthMismatch(length!, 'runs past'))
          return
        }
        left -= chunk.byteLength
      }
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            wake = undefined
            res.off('drain', done)
            resolve()
          }
          wake = done
          res.on('drain', done)
        })
        if (settled) return
      }
    }
    if (left !== undefined && left > 0) {
      broken(ctx, res, stop, lengthMismatch(length!, 'ended short of'))
      return
    }
    settled = true
    res.end()
  } catch (error) {
    if (settled) return
    settled = true
    ctx.fail(error)
    res.destroy()
  }
}

/** Ends a response whose body cannot be framed as declared: source released, connection closed. */
function broken(ctx: PumpContext, res: ServerResponse, stop: () => void, error: AikitError): void {
  stop()
  ctx.fail(error)
  res.destroy()
}
