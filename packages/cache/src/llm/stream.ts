/**
 * @module llm/stream
 * Recording and replaying streamed LLM answers. Events pass through untouched (same objects, same
 * order); a recording is handed over only when the stream finished cleanly: the protocol's final
 * event was seen, no error event or exception, and the consumer did not stop early.
 */
import { InvalidOptionsError } from '@aikit/core'
import { MAX_TIMER_MS } from '../options.js'
import { isCompleteAnthropicStream, isCompleteOpenAiChat } from './completeness.js'

/**
 * How to tell a complete, successful stream: `'anthropic'` (a `message_stop` event, the last
 * `message_delta` with a `stop_reason` of end_turn, max_tokens, stop_sequence or tool_use, and no
 * `error` event: a `refusal`, `pause_turn` or `model_context_window_exceeded` stop is not stored),
 * `'openai-chat'` (every choice index seen finished with stop, length, tool_calls or function_call,
 * and no `error` member: a `content_filter` finish is not stored), or your own predicate.
 */
export type StreamProtocol = 'anthropic' | 'openai-chat' | ((events: readonly unknown[]) => boolean)

/** Whether `events` form a complete, successful answer under `protocol`. */
export function isCompleteStream(events: readonly unknown[], protocol: StreamProtocol): boolean {
  if (typeof protocol === 'function') return protocol(events)
  if (protocol === 'anthropic') return isCompleteAnthropicStream(events)
  if (protocol === 'openai-chat') return isCompleteOpenAiChat(events, 0)
  throw new InvalidOptionsError('protocol', "must be 'anthropic', 'openai-chat' or a function")
}

/** Options of `recordStream`. */
export interface RecordStreamOptions<E> {
  /** How to tell a complete stream (see `StreamProtocol`). */
  protocol: StreamProtocol
  /** Called once with every event, only when the stream completed cleanly. */
  onComplete: (events: E[]) => void | Promise<void>
  /** When it aborts, the recording is dropped even if the stream ends normally. Default none. */
  signal?: AbortSignal
}

/**
 * Passes `source` through untouched while recording it. The recording reaches `onComplete` only
 * after the last event was consumed, the source ended without throwing, the consumer did not stop
 * early (`break`/`return`), `signal` did not abort, and `protocol` says the answer is complete.
 */
export function recordStream<E>(
  source: AsyncIterable<E>,
  options: RecordStreamOptions<E>
): AsyncIterable<E> {
  if (
    source === null ||
    typeof (source as { [Symbol.asyncIterator]?: unknown })?.[Symbol.asyncIterator] !== 'function'
  ) {
    throw new InvalidOptionsError('source', 'must be an async iterable')
  }
  if (options === null || typeof options?.onComplete !== 'function') {
    throw new InvalidOptionsError('onComplete', 'must be a function')
  }
  const { protocol, onComplete, signal } = options
  if (typeof protocol !== 'function' && protocol !== 'anthropic' && protocol !== 'openai-chat') {
    throw new InvalidOptionsError('protocol', "must be 'anthropic', 'openai-chat' or a function")
  }
  return {
    async *[Symbol.asyncIterator]() {
      const events: E[] = []
      // `yield*` would hide whether the consumer stopped early; iterate by hand instead.
      for await (const event of source) {
        events.push(event)
        yield event
      }
      // Reached only when the source ended normally and the consumer asked for the end.
      if (signal?.aborted === true) return
      if (!isCompleteStream(events, protocol)) return
      await onComplete(events)
    },
  }
}

/** Options of `replayStream`. */
export interface ReplayStreamOptions {
  /** Wait this many ms before each event after the first (simulated pacing). Default `0` (instant). */
  delayMs?: number
  /** Stops the replay when it aborts. Default none. */
  signal?: AbortSignal
}

/** Yields recorded events again, in order, optionally paced. */
export function replayStream<E>(
  events: readonly E[],
  options: ReplayStreamOptions = {}
): AsyncIterable<E> {
  if (!Array.isArray(events)) throw new InvalidOptionsError('events', 'must be an array')
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionsError('options', 'must be an object')
  const delayMs = options.delayMs ?? 0
  // Waited on with setTimeout: Node fires a longer delay after 1 ms.
  if (typeof delayMs !== 'number' || !(delayMs >= 0) || !(delayMs <= MAX_TIMER_MS)) {
    throw new InvalidOptionsError(
      'delayMs',
      `must be a non-negative number of milliseconds, at most ${MAX_TIMER_MS}`
    )
  }
  const { signal } = options
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < events.length; i++) {
        if (signal?.aborted === true) return
        if (i > 0 && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
        yield events[i] as E
      }
    },
  }
}

/** The error a consumer of an abandoned `SharedStream` gets. */
function abandonedError(): Error {
  return new DOMException('the shared stream was abandoned by all its consumers', 'AbortError')
}

/**
 * One upstream stream shared by several consumers: a late joiner first gets the events already
 * received, then live ones. When every consumer has left before the end, the stream is abandoned:
 * `onAbandon` runs at once (abort the provider request there, and stop handing the stream out),
 * the upstream is stopped (its iterator's `return()`), `subscribe()` throws an `AbortError` from
 * then on, and the stream counts as aborted, never as a clean end.
 */
export class SharedStream<E> {
  private readonly events: E[] = []
  private done = false
  private failed = false
  private error: unknown
  private aborted = false
  private consumers = 0
  private wakeups: (() => void)[] = []
  /** Resolves when the upstream ended: `true` if it ended normally (not failed, not abandoned). */
  readonly finished: Promise<boolean>

  /** `onAbandon` runs when the last consumer leaves early: abort the upstream request there. */
  constructor(
    source: AsyncIterable<E>,
    private readonly onAbandon: () => void = () => undefined
  ) {
    this.finished = this.pump(source[Symbol.asyncIterator]())
  }

  /** The recorded events (complete once `finished` resolved `true`). */
  get recorded(): readonly E[] {
    return this.events
  }

  /** True once every consumer left before the end: `subscribe()` throws from then on. */
  get abandoned(): boolean {
    return this.aborted
  }

  private notify(): void {
    const wakeups = this.wakeups
    this.wakeups = []
    for (const wake of wakeups) wake()
  }

  private async pump(iterator: AsyncIterator<E>): Promise<boolean> {
    try {
      for (;;) {
        const step = await iterator.next()
        if (step.done === true) break
        if (this.aborted) break
        this.events.push(step.value)
        this.notify()
      }
      if (this.aborted) {
        await iterator.return?.()
        return false
      }
      return true
    } catch (error) {
      if (!this.aborted) {
        this.failed = true
        this.error = error
      }
      return false
    } finally {
      // Abandoned is a failure, never a clean end, for whoever might still be reading.
      if (this.aborted && !this.failed) {
        this.failed = true
        this.error = abandonedError()
      }
      this.done = true
      this.notify()
    }
  }

  /**
   * A consumer view, single use (its `[Symbol.asyncIterator]()` returns itself). Counts as a
   * consumer from this call until it ends, or stops early through `return()` / `throw()`, even
   * one made before its first `next()` (a client gone before the first event is still a consumer
   * leaving: when it was the last, the stream is abandoned).
   * @throws DOMException `AbortError` when the stream was abandoned (start a new upstream instead).
   */
  subscribe(): AsyncIterable<E> {
    if (this.aborted) throw abandonedError()
    this.consumers++
    // A hand-written iterator, not an async generator: a generator's `finally` never runs when
    // `return()` is called before its first `next()`, and that consumer would never be released.
    let closed = false
    const release = (): void => {
      if (closed) return
      closed = true
      // A `next()` of this consumer waiting for the next event returns done at once.
      this.notify()
      this.consumers--
      if (this.consumers === 0 && !this.done) {
        this.aborted = true
        this.onAbandon()
      }
    }
    let i = 0
    const finished = (): IteratorResult<E> => ({ done: true, value: undefined })
    const iterator: AsyncIterableIterator<E> = {
      next: async (): Promise<IteratorResult<E>> => {
        for (;;) {
          if (closed) return finished()
          if (i < this.events.length) return { done: false, value: this.events[i++] as E }
          if (this.done) {
            release()
            if (this.failed) throw this.error
            return finished()
          }
          await new Promise<void>((resolve) => this.wakeups.push(resolve))
        }
      },
      return: async (value?: unknown): Promise<IteratorResult<E>> => {
        release()
        return { done: true, value: value as undefined }
      },
      throw: async (error?: unknown): Promise<IteratorResult<E>> => {
        release()
        throw error
      },
      [Symbol.asyncIterator]() {
        return iterator
      },
    }
    return iterator
  }
}
