/**
 * @module sse
 * `asResponse()` bodies: the answer re-encoded as the provider sent it (JSON, or SSE events read
 * from the metered stream), with the provider's status and headers.
 */

/** A JSON `Response` of `data` with `base`'s status and headers (its body was already read by the SDK). */
export function jsonResponse(data: unknown, base: Response): Response {
  const headers = new Headers(base.headers)
  headers.delete('content-length')
  headers.delete('content-encoding')
  headers.set('content-type', 'application/json')
  return new Response(JSON.stringify(data), { status: base.status, headers })
}

/** An SSE `Response` whose body reads `events` (consuming them), one `encode(event)` per event. */
export function sseResponse(
  events: AsyncIterable<unknown>,
  encode: (event: unknown) => string,
  tail: string,
  base: Response
): Response {
  const headers = new Headers(base.headers)
  headers.delete('content-length')
  headers.delete('content-encoding')
  headers.set('content-type', 'text/event-stream')
  const encoder = new TextEncoder()
  let iterator: AsyncIterator<unknown> | undefined
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= events[Symbol.asyncIterator]()
      try {
        const r = await iterator.next()
        if (r.done) {
          if (tail) controller.enqueue(encoder.encode(tail))
          controller.close()
        } else controller.enqueue(encoder.encode(encode(r.value)))
      } catch (error) {
        controller.error(error)
      }
    },
    async cancel() {
      await iterator?.return?.()
    },
  })
  return new Response(body, { status: base.status, headers })
}
