/**
 * @module thrown
 * A client may reject with anything (`throw 'socket hang up'`, `Promise.reject(null)`). BullMQ reads
 * `err.message` of what the processor throws, and the worker keys the retry delay it announced by
 * the thrown object: both need an `Error`. Non-Errors are wrapped, the original kept as `cause`.
 */

const MAX_SHOWN = 200

/** A short, safe rendering of a thrown non-Error (no `toString` of arbitrary objects is called). */
function show(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value
    return JSON.stringify(cut)
  }
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value)
  }
  if (typeof value === 'symbol') return 'a symbol'
  if (typeof value === 'function') return 'a function'
  return 'an object'
}

/** What the worker throws for a rejection that was not an `Error`; `cause` is the thrown value. */
export class NonErrorThrownError extends Error {
  constructor(value: unknown) {
    super(`The call rejected with a non-Error: ${show(value)}`, { cause: value })
    this.name = 'NonErrorThrownError'
  }
}

/** `value` itself when it is an `Error`, else a `NonErrorThrownError` wrapping it. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new NonErrorThrownError(value)
}
