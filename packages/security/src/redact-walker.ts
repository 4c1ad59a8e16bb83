/**
 * @module redact-walker
 * What the walkers of the other kinds (errors, maps and sets, Web objects, bytes, command
 * arguments) call back into: a redactor's walk and censor. One is made per redactor, so those
 * walkers are plain functions taking it, and no closure is made per value.
 */
import type { PathNode } from './redact-paths.js'

/** A redactor's walk, as the walkers of the other kinds see it. */
export interface RedactWalker {
  /** Replacement for a censored value. */
  readonly censor: string
  /** Whether strings are scanned for secret patterns (`patterns` is not false). */
  readonly scans: boolean
  /** `value` redacted, found at `depth`; `nodes` are the path nodes reached. */
  walk(value: unknown, depth: number, nodes: PathNode[] | undefined): unknown
  /**
   * An object's own enumerable properties walked; `copyProto`: the prototype of the copy made
   * when something changed (`proto` by default).
   */
  walkObject(
    obj: object,
    depth: number,
    nodes: PathNode[] | undefined,
    proto: object | null,
    copyProto?: object | null
  ): unknown
  /** `s` scanned for secrets and cut to the maximum length. */
  redactString(s: string): string
  /** Whether the value under `key` is censored whole; `nodes` are the path nodes reached. */
  censored(key: string, nodes: PathNode[] | undefined): boolean
}
