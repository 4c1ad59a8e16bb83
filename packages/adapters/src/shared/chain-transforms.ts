/**
 * @module chain-transforms
 * Several body transforms on one response (`Context.transformBody` called by more than one
 * middleware): the one registered last, by the innermost middleware, sees the route's head and bytes
 * first, and each earlier one takes the result, as the middleware nest. `cacheResponse()` inside
 * `compress()` thus records the plain body while the client gets it compressed. Edge-safe.
 */
import type { BodyTransform, BodyTransformFactory } from '@aikit/core/adapter'

const EMPTY = new Uint8Array(0)

/** A factory that asks `inner` first, then `outer` (with the head as `inner` left it). */
export function chainFactories(
  outer: BodyTransformFactory,
  inner: BodyTransformFactory
): BodyTransformFactory {
  return (head) => {
    const first = inner(head)
    let second: BodyTransform | undefined
    try {
      second = outer(head)
    } catch (error) {
      first?.abort()
      throw error
    }
    if (first === undefined) return second
    if (second === undefined) return first
    return pipe(first, second)
  }
}

/** `first`'s output goes through `second`; an empty chunk is not passed on (nothing to flush). */
function pipe(first: BodyTransform, second: BodyTransform): BodyTransform {
  const write = (chunk: Uint8Array): Uint8Array | Promise<Uint8Array> =>
    chunk.length === 0 ? EMPTY : second.write(chunk)
  const end = (chunk: Uint8Array): Uint8Array | Promise<Uint8Array> =>
    second.end(chunk.length === 0 ? undefined : chunk)
  return {
    write(chunk) {
      const out = first.write(chunk)
      return out instanceof Promise ? out.then(write) : write(out)
    },
    end(last) {
      const out = first.end(last)
      return out instanceof Promise ? out.then(end) : end(out)
    },
    abort() {
      try {
        first.abort()
      } finally {
        second.abort()
      }
    },
  }
}
