/**
 * @module next/body
 * Response bodies as pull-based Web streams: a chunk is read from the source only when the
 * consumer (Next's response writer) asks for one, so a slow client slows the producer down, and
 * the end of the stream (or its cancellation) tells the Context when the response finished.
 */
import type { NormalizedBody } from '@aikit/core/adapter'
import { lengthMismatch } from '../shared/content-length.js'

const encoder = new TextEncoder()

/** Something chunks are pulled from. */
interface ChunkSource {
  read(): Promise<IteratorResult<unknown>>
  cancel(reason: unknown): Promise<void>
}

type StreamLike = ReadableStream<Uint8Array | string> | AsyncIterable<Uint8Array | string>

function sourceOf(stream: StreamLike): ChunkSource {
  if (typeof (stream as ReadableStream).getReader === 'function') {
    const reader = (stream as ReadableStream<unknown>).getReader()
    return {
      read: () => reader.read() as Promise<IteratorResult<unknown>>,
      cancel: (reason) => reader.cancel(reason),
    }
  }
  const it = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]()
  return {
    read: () => it.next(),
    cancel: async () => {
      await it.return?.()
    },
  }
}

/** Runs `fn` in a request's context (`runWithContext` bound to it). */
export type Scope = <R>(fn: () => R) => R

function scoped(source: ChunkSource, scope: Scope | undefined): ChunkSource {
  if (scope === undefined) return source
  return {
    read: () => scope(() => source.read()),
    cancel: (reason) => scope(() => source.cancel(reason)),
  }
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return encoder.encode(value)
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }
  throw new TypeError('A streamed response chunk must be a string or bytes')
}

/**
 * Called once: `aborted` is false after the last chunk was read, true when the stream was
 * cancelled (the client went away) or the source failed (`error` is then set).
 */
export type OnBodyDone = (aborted: boolean, error?: unknown) => void

/**
 * A stream that forwards `stream`'s chunks on pull and reports how it ended. With a `length` (the
 * Content-Length of the head) the source is held to it, as the Node pump holds it: a chunk that
 * would run past it, or an end short of it, errors the stream instead (Next's response writer
 * then destroys the response rather than send a misframed one) and is reported, unless
 * `clientLeft()` says the client went away: a source that stops then (an LLM stream following
 * `ctx.signal`) ends a response nobody reads, which is no error (the Node pump reports nothing
 * either).
 *
 * `scope` runs each read and the cancel of the source (in the request's context): Next's response
 * writer pulls the body after the chain has returned, outside the request's AsyncLocalStorage
 * scope, and an async iterable (an SSE generator over an LLM stream) runs its code in the context
 * of whoever calls `next()`. What it logged (the LLM wrapper's line when the stream ends) lost the
 * request's subject and route.
 */
export function trackedStream(
  stream: StreamLike,
  onDone: OnBodyDone,
  length?: number,
  clientLeft?: () => boolean,
  scope?: Scope
): ReadableStream<Uint8Array> {
  const source = scoped(sourceOf(stream), scope)
  let left = length
  /** Whether the error thrown is the length mismatch found here (not the source's own). */
  let cut = false
  let settled = false
  const settle = (aborted: boolean, error?: unknown): void => {
    if (settled) return
    settled = true
    onDone(aborted, error)
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let bytes: Uint8Array
        try {
          const r = await source.read()
          if (r.done) {
            if (left !== undefined && left > 0) {
              cut = true
              throw lengthMismatch(length!, 'ended short of')
            }
            controller.close()
            settle(false)
            return
          }
          bytes = toBytes(r.value)
          if (left !== undefined) {
            if (bytes.byteLength > left) {
              cut = true
              throw lengthMismatch(length!, 'runs past')
            }
            left -= bytes.byteLength
          }
        } catch (error) {
          const unread = cut && clientLeft?.() === true
          settle(true, unread ? undefined : error)
          controller.error(error)
          source.cancel(error).catch(() => {})
          return
        }
        controller.enqueue(bytes)
      },
      async cancel(reason) {
        settle(true)
        try {
          await source.cancel(reason)
        } catch {
          // The source failing to cancel changes nothing for the client.
        }
      },
    },
    { highWaterMark: 0 }
  )
}

/** A one-chunk tracked stream for text or bytes. */
function fixedStream(bytes: Uint8Array, onDone: OnBodyDone): ReadableStream<Uint8Array> {
  let sent = false
  return trackedStream(
    {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          if (sent) return { done: true, value: undefined }
          sent = true
          return { done: false, value: bytes }
        },
      }),
    },
    onDone
  )
}

/**
 * The Web body for a `respond(...)` body. Returns `null` for an empty body (the caller then
 * finishes the response when it is returned). Sets `content-length` for text and bytes (the one
 * given to `respond`, if any, is replaced: the Node adapters send the real length too).
 */
export function bodyFromNormalized(
  body: NormalizedBody,
  headers: Headers,
  onDone: OnBodyDone
): ReadableStream<Uint8Array> | null {
  switch (body.kind) {
    case 'empty':
      return null
    case 'text':
    case 'bytes': {
      const bytes = body.kind === 'text' ? encoder.encode(body.text) : body.bytes
      // The kit frames these bytes: a Content-Length given to `respond` does not describe them.
      headers.set('content-length', String(bytes.byteLength))
      return fixedStream(bytes, onDone)
    }
    case 'stream':
      return trackedStream(body.stream, onDone)
  }
}
