/**
 * @module metered-source
 * The provider stream as the shared stream's source: every event goes to the usage meter as it
 * passes (and on, as the provider sent it: an injected OpenAI usage chunk is hidden by each reader
 * that did not ask for it, not here, so the recording the cache stores has it), and the usage is
 * reported exactly once when
 * the stream ends for any reason: finished, failed, or left by every reader, even before the first
 * event was read. What `meterStream` from @aikit/cost does, as a plain iterator: one `then` per
 * event instead of an async generator's promises around a `for await` (a miss's hot path).
 */
import { createStreamUsage, type StreamUsageResult, type UsageApi } from '@aikit/cost'

/** Options of `meteredSource`. */
export interface MeteredSourceOptions {
  readonly api: UsageApi
  /** The model asked for (until the stream names its own). */
  readonly model: string
  /** Input tokens estimated before the call (charged when the stream never reports them). */
  readonly inputTokens: number
  /** Called once with the usage when the stream ends (errors thrown by it are ignored). */
  readonly onDone: (result: StreamUsageResult) => void
}

/** The metered iterator (`return` always present: the shared stream closes the source with it). */
export interface MeteredIterator extends AsyncIterator<unknown> {
  return(): Promise<IteratorResult<unknown>>
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined }

/** An iterator over `stream`'s events that meters them. */
export function meteredSource(
  stream: AsyncIterable<unknown>,
  options: MeteredSourceOptions
): MeteredIterator {
  const usage = createStreamUsage(options.api, {
    model: options.model,
    inputTokens: options.inputTokens,
  })
  let source: AsyncIterator<unknown> | undefined
  let ended = false
  let pending: Promise<unknown> | undefined

  const report = (): void => {
    if (ended) return
    ended = true
    try {
      options.onDone(usage.result())
    } catch {
      // The report must not replace the stream's own outcome.
    }
  }

  const close = async (): Promise<void> => {
    try {
      await source?.return?.()
    } finally {
      report()
    }
  }

  const step = (): Promise<IteratorResult<unknown>> => {
    source ??= stream[Symbol.asyncIterator]()
    return source.next().then(
      (r): IteratorResult<unknown> | Promise<IteratorResult<unknown>> => {
        if (r.done) {
          report()
          return DONE
        }
        try {
          usage.push(r.value)
        } catch {
          // The meter never breaks the caller's stream (`createStreamUsage` ignores a malformed
          // usage itself; this guards the rest): the event passes, the usage settles as it stands.
        }
        return { done: false, value: r.value }
      },
      (error: unknown) => {
        report()
        throw error
      }
    )
  }

  return {
    next: () => {
      if (ended) return Promise.resolve(DONE)
      const p = step()
      pending = p
      return p
    },
    return: async () => {
      // Like a generator: an early return waits for the read in progress, then closes the source.
      if (pending) await pending.catch(() => undefined)
      if (!ended) await close()
      return DONE
    },
  }
}
