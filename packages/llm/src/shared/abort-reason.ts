/**
 * @module abort-reason
 * The reason the wrapper aborts a controller with (an SDK request's, a reader's). A reason-less
 * `abort()` creates an `AbortError` whose stack V8 keeps unformatted until read, holding the
 * objects of every frame on it (the shared stream, the call's state, the SDK stream, its response
 * body). The Anthropic SDK keeps each request's controller in a FinalizationRegistry keyed by the
 * response body: through that stack the body kept itself alive, and the whole call with it, for
 * good (~16 KB per stream given up before its first read). Formatted at once, the stack is text.
 */

/** An `AbortError` like the one `abort()` makes, its stack already formatted. */
export function abortReason(): DOMException {
  const reason = new DOMException('This operation was aborted', 'AbortError')
  void reason.stack
  return reason
}

/**
 * Stops an SDK request's `controller` with `abortReason()`. Already aborted (the SDK aborts it,
 * reason-less, from its listener on the signal the wrapper gave it, while the wrapper's frames
 * are on the stack), its reason's stack is formatted instead, for the same reason.
 */
export function stopRequest(controller: { abort(reason?: unknown): void; signal?: unknown }): void {
  const signal = controller.signal as AbortSignal | undefined
  if (signal?.aborted !== true) {
    controller.abort(abortReason())
    return
  }
  const reason: unknown = signal.reason
  if (reason instanceof Error || reason instanceof DOMException) void reason.stack
}
