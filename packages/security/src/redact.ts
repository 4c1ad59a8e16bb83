/**
 * @module redact
 * Secret redaction for logs and error reports: by key path (pino syntax), by key name at any depth,
 * and by value pattern inside every string (a key pasted into a prompt, a token in a URL or an error
 * message), which key-path redaction alone misses.
 *
 * The walk is copy-on-write: nothing is allocated for a subtree without secrets, and only the
 * objects on the way to a censored value are shallow-copied, so the input is never mutated and a
 * clean log object comes back as the same reference. The options are in redact-options.ts, the
 * walk in redact-walk.ts.
 */
import { type RedactorOptions, resolveRedactorOptions } from './redact-options.js'
import { createWalk } from './redact-walk.js'

export type { RedactorOptions } from './redact-options.js'

/** A redaction function: returns a redacted copy (or the value itself when nothing changed). */
export type Redactor = (value: unknown) => unknown

/** Creates a redactor. Options are validated here; the returned function never throws. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  return createWalk(resolveRedactorOptions(options))
}

/** Redacts with the default options (key names, value patterns, censor `[redacted]`). */
export const redact: Redactor = createRedactor()
