/**
 * @module call-promise
 * What a wrapped `create` returns: a `Promise` of the SDK's data that also has the SDK
 * `APIPromise`'s public helpers, `withResponse()` and `asResponse()`, so code written against the
 * SDK keeps working. Like the SDK's, it resolves lazily: a caller that only uses `withResponse()`
 * leaves no unhandled rejection behind.
 */

/** The result of one call as the wrapper produced it. */
export interface CallOutcome<T> {
  readonly data: T
  /** The provider's `Response` (its body already read), or a synthetic one for a cache hit. */
  readonly response: Response
  /** The other fields of the SDK's `withResponse()` (`request_id`, `workspace_id`, …). */
  readonly extras: Readonly<Record<string, unknown>>
  /** A `Response` whose body is the data (JSON, or SSE for a stream, read from the data itself). */
  toResponse(): Response
}

/** What the SDK's `APIPromise` resolves its response to before parsing (`_responseProps()`). */
export interface ResponseProps {
  readonly response: Response
  readonly options: { readonly method: 'post'; readonly stream: boolean }
  readonly controller: AbortController
  readonly requestLogID: undefined
  readonly retryOfRequestLogID: undefined
  readonly startTime: number
}

// Shared (not a closure per call): a wrapped call makes one of these promises every time.
const resolveUnused = (resolve: (value: never) => void): void => resolve(undefined as never)
const ignore = (): void => {}

/** A `Promise<T>` with `withResponse()` / `asResponse()` like the SDKs' `APIPromise`. */
export class LlmCallPromise<T> extends Promise<T> {
  // Derived promises (`then`, `catch`) are plain promises, as with the SDK's APIPromise.
  static override get [Symbol.species](): PromiseConstructor {
    return Promise
  }

  readonly #outcome: Promise<CallOutcome<T>>
  #props: Promise<ResponseProps> | undefined

  /**
   * `handled`: the outcome already has a rejection handler (the engine's own bookkeeping), so it
   * needs no extra `catch` here (one promise and one reaction fewer on every call).
   */
  constructor(outcome: Promise<CallOutcome<T>>, handled = false) {
    // The base promise is never used: `then`/`catch`/`finally` read the outcome instead.
    super(resolveUnused)
    this.#outcome = outcome
    // Failure is reported through whichever helper the caller uses; never an unhandled rejection.
    if (!handled) outcome.catch(ignore)
  }

  /** The data, the provider's `Response` and the SDK's request ids (`request_id`, …). */
  withResponse(): Promise<{ data: T; response: Response } & Record<string, unknown>> {
    return this.#outcome.then((o) => ({ ...o.extras, data: o.data, response: o.response }))
  }

  /** A `Response` with the answer as its body (JSON, or the metered SSE stream). */
  asResponse(): Promise<Response> {
    return this.#outcome.then((o) => o.toResponse())
  }

  /**
   * The SDK helpers (`chat.completions.parse`, `responses.parse`) post-process data with this. As
   * the SDK's own, it puts the call's request id on the transformed object (`_request_id`, not
   * enumerable: the helpers build a new object, which would otherwise lose it).
   */
  _thenUnwrap<U>(transform: (data: T, props: { response: Response }) => U): LlmCallPromise<U> {
    return new LlmCallPromise(
      this.#outcome.then((o) => ({
        ...o,
        data: withRequestId(transform(o.data, { response: o.response }), o.extras.request_id),
      }))
    )
  }

  /**
   * The SDK `APIPromise`'s response props (`{ response, options, controller, … }`), which the
   * Anthropic SDK's thread helpers (`beta.messages.thread()`, `toolRunner()`) read a turn's answer
   * from: `response` is `asResponse()`'s (JSON, or SSE read from the metered stream, consumed
   * once: the same props every time), `options.stream` says which, and `controller` is the
   * stream's own (aborting it stops this caller's stream). Rejects as the call does.
   */
  _responseProps(): Promise<ResponseProps> {
    this.#props ??= this.#outcome.then((o) => {
      const controller = (o.data as { controller?: unknown } | null)?.controller
      const stream =
        controller instanceof AbortController &&
        typeof (o.data as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
      return {
        response: o.toResponse(),
        options: { method: 'post', stream },
        controller: stream ? controller : new AbortController(),
        requestLogID: undefined,
        retryOfRequestLogID: undefined,
        startTime: Date.now(),
      }
    })
    return this.#props
  }

  // biome-ignore lint/suspicious/noThenProperty: a Promise subclass, as the SDK's APIPromise: `then` reads the lazy outcome.
  override then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null
  ): Promise<R1 | R2> {
    // One `then` on the outcome (not a `then` for the data and another for the callbacks).
    return this.#outcome.then(
      typeof onfulfilled === 'function'
        ? (o) => onfulfilled(o.data)
        : (o) => o.data as unknown as R1,
      onrejected
    )
  }

  override catch<R = never>(
    onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null
  ): Promise<T | R> {
    return this.then(undefined, onrejected)
  }

  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally)
  }
}

/**
 * `value` with `_request_id` set (not enumerable) to `requestId`, or `null` without one (a cache
 * hit), as the SDKs' `addRequestID` does: on an object that is not an array only. A `_request_id`
 * that cannot be redefined (a frozen object) is left as it is.
 */
export function withRequestId<U>(value: U, requestId: unknown): U {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  try {
    Object.defineProperty(value, '_request_id', { value: requestId ?? null, enumerable: false })
  } catch {
    // Frozen, or fixed already: the object as the transform made it.
  }
  return value
}
