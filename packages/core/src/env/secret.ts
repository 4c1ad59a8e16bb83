/**
 * @module env/secret
 * A value that never prints: `Secret` hides what it holds from `toString`, template strings,
 * `JSON.stringify` and `util.inspect` (through the global `nodejs.util.inspect.custom` symbol, so
 * this file needs no `node:` import and stays edge-safe). Read it with `reveal()`.
 */
import { z } from 'zod'

/** What a secret prints as, everywhere. */
export const REDACTED = '[redacted]'

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** Holds a secret value; every way of printing it gives `[redacted]`. */
export class Secret<T = string> {
  readonly #value: T

  constructor(value: T) {
    this.#value = value
  }

  /** The real value: pass it to the SDK or client that needs it, never to a log. */
  reveal(): T {
    return this.#value
  }

  toString(): string {
    return REDACTED
  }

  toJSON(): string {
    return REDACTED
  }

  [Symbol.toPrimitive](): string {
    return REDACTED
  }

  [INSPECT](): string {
    return REDACTED
  }
}

/**
 * The mark every `Secret` carries on its prototype, shared by all copies of this module
 * (`Symbol.for`), as `isAikitError` does: two copies of `@aikit/core` (two versions installed, a
 * bundle with its own) each have their own `Secret` class, and `instanceof` sees only one.
 * Non-enumerable, so it changes nothing that prints.
 */
const SECRET = Symbol.for('@aikit/core.Secret')
Object.defineProperty(Secret.prototype, SECRET, { value: true })

/** True for a `Secret` (also one made by another copy of this module). */
export function isSecret(value: unknown): value is Secret<unknown> {
  if (value instanceof Secret) return true
  if (value === null || typeof value !== 'object') return false
  const v = value as { reveal?: unknown; [SECRET]?: unknown }
  return v[SECRET] === true && typeof v.reveal === 'function'
}

/**
 * Marks a variable as a secret: its parsed value is wrapped in a `Secret`, so it prints as
 * `[redacted]` and must be read with `.reveal()`. Without an argument the variable is a non-empty
 * string; pass a schema to validate (and coerce) it first, e.g. `secret(url())`.
 */
export function secret(): z.ZodType<Secret<string>, string>
export function secret<S extends z.ZodType>(schema: S): z.ZodType<Secret<z.output<S>>, z.input<S>>
export function secret(schema?: z.ZodType): z.ZodType {
  const inner = schema ?? z.string().min(1)
  return inner.transform((value) => new Secret(value))
}
