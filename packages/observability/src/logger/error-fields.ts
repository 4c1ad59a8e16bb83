/**
 * @module error-fields
 * Errors given as fields of a line (`logger.error('call failed', { err })`, a store's degraded
 * event `{ store, error }`) are written as what an operator needs: `type`, `message`, `stack`, the
 * error's own fields (`code`, `status`, `errno`, `syscall`, `address`, …), its `cause` chain and an
 * `AggregateError`'s inner `errors` (`Promise.any`, Node's happy-eyeballs `connect`: one per address).
 * `JSON.stringify` alone writes `{}` for an `Error` (its message and stack are not enumerable) and
 * the public body for an `AikitError` (its `toJSON`), which drops the cause: the Redis host that
 * refused, the timeout that fired. What the line then holds is redacted like every other value.
 */

/** How deep fields are searched for errors, and how long a `cause` chain is followed. */
const MAX_DEPTH = 4

/** Whether `value` is a plain object (an object literal or a null-prototype object). */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * An error's own enumerable value as written: primitives and plain data as they are (the redactor
 * handles secret-named keys in them), nested errors converted, class instances other than errors
 * dropped (an SDK error's `headers` is a `Headers`, which JSON writes as `{}`).
 */
function fieldValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object')
    return typeof value === 'function' ? undefined : value
  if (value instanceof Error)
    return depth < MAX_DEPTH ? errorFields(value, depth + 1) : String(value)
  if (Array.isArray(value) || isPlainObject(value)) return withErrorFields(value, depth + 1)
  return undefined
}

/** How many of an `AggregateError`'s `errors` are written; the rest are counted in `errorsOmitted`. */
const MAX_INNER_ERRORS = 10

/** One nested error (a `cause`, an inner error): converted while the depth allows, else its string. */
function nestedError(value: unknown, depth: number): unknown {
  if (!(value instanceof Error)) return fieldValue(value, depth)
  return depth < MAX_DEPTH ? errorFields(value, depth + 1) : String(value)
}

/** Keys written from the error's own properties, or not at all (`name` is `type`). */
const SKIPPED_KEYS = new Set(['type', 'name', 'message', 'stack', 'cause'])

/** The written form of one error. */
export function errorFields(error: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: error.message }
  for (const key of Object.keys(error)) {
    if (SKIPPED_KEYS.has(key)) continue
    const value = fieldValue((error as unknown as Record<string, unknown>)[key], depth)
    if (value !== undefined) out[key] = value
  }
  if (typeof error.stack === 'string') out.stack = error.stack
  const cause = (error as { cause?: unknown }).cause
  if (cause !== undefined) out.cause = nestedError(cause, depth)
  // An AggregateError's `errors` is own but not enumerable (as `message` and `cause`), so the loop
  // above skips it; an enumerable `errors` (an app's own field) was written there already.
  const inner = Object.getOwnPropertyDescriptor(error, 'errors')
  if (inner !== undefined && !inner.enumerable && Array.isArray(inner.value)) {
    const errors = inner.value as unknown[]
    out.errors = errors.slice(0, MAX_INNER_ERRORS).map((e) => nestedError(e, depth))
    if (errors.length > MAX_INNER_ERRORS) out.errorsOmitted = errors.length - MAX_INNER_ERRORS
  }
  return out
}

/**
 * `fields` with every error in it (at any depth up to `MAX_DEPTH`, in plain objects and arrays)
 * replaced by its written form; `fields` itself when it holds none (nothing is copied then).
 */
export function withErrorFields<T extends object>(fields: T, depth = 0): T {
  if (depth > MAX_DEPTH) return fields
  let copy: Record<string | number, unknown> | unknown[] | undefined
  const source = fields as Record<string, unknown>
  if (Array.isArray(fields)) {
    for (let i = 0; i < fields.length; i++) {
      const value = fields[i] as unknown
      const next = convert(value, depth)
      if (next !== value) {
        copy ??= fields.slice()
        ;(copy as unknown[])[i] = next
      }
    }
  } else {
    for (const key in source) {
      if (!Object.hasOwn(source, key)) continue
      const value = source[key]
      const next = convert(value, depth)
      if (next !== value) {
        copy ??= { ...source }
        ;(copy as Record<string, unknown>)[key] = next
      }
    }
  }
  return (copy ?? fields) as T
}

/** One value of a line: an error converted, a plain object or array searched, anything else kept. */
function convert(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Error) return errorFields(value, depth)
  if (Array.isArray(value) || isPlainObject(value)) return withErrorFields(value, depth + 1)
  return value
}
