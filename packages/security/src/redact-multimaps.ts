/**
 * @module redact-multimaps
 * Redacting a Web `Headers`, `URLSearchParams` or `FormData`: classes that keep their entries out
 * of sight of `JSON.stringify` but not of `util.inspect`.
 */
import { lowerKey } from './redact-keys.js'
import { type PathNode, step } from './redact-paths.js'
import { MIN_SCAN_LENGTH } from './redact-patterns.js'
import type { RedactWalker } from './redact-walker.js'

/** What `Headers`, `URLSearchParams` and `FormData` share: named entries, appended in order. */
export interface WebMultimap {
  entries(): IterableIterator<[string, unknown]>
  append(name: string, value: unknown): void
}

/** A Web multimap class. */
export type WebMultimapClass = new () => WebMultimap

/** The Web classes that keep their entries out of sight of `JSON.stringify` (where defined). */
const WEB_MULTIMAPS = [globalThis.Headers, globalThis.URLSearchParams, globalThis.FormData].filter(
  (c) => typeof c === 'function'
) as unknown as WebMultimapClass[]

/** The Web multimap class `value` is an instance of, if any. */
export function webMultimapOf(value: object): WebMultimapClass | undefined {
  for (const Class of WEB_MULTIMAPS) if (value instanceof Class) return Class
  return undefined
}

/**
 * `value`'s entries walked as a Map's (names as keys, string values scanned, files kept) into a
 * copy of its class `Class`, so what a logger prints keeps its shape: `JSON.stringify` still
 * `{}`, `util.inspect` the same entries, censored. An entry the copy refuses once censored (a
 * header name holding a secret: brackets are not allowed in a name) is left out. `force`: copied
 * even when no entry changed.
 */
export function walkMultimap(
  w: RedactWalker,
  value: WebMultimap,
  Class: WebMultimapClass,
  nodes: PathNode[] | undefined,
  force = false
): unknown {
  let changed = false
  const entries: [string, unknown][] = []
  for (const [name, item] of value.entries()) {
    let out = item
    if (w.censored(name, nodes === undefined ? undefined : step(nodes, lowerKey(name)))) {
      out = w.censor
    } else if (typeof item === 'string' && item.length >= MIN_SCAN_LENGTH) {
      out = w.redactString(item)
    }
    const outName = name.length < MIN_SCAN_LENGTH ? name : w.redactString(name)
    if (out !== item || outName !== name) changed = true
    entries.push([outName, out])
  }
  if (!changed && !force) return value
  const copy = new Class()
  for (const [name, item] of entries) {
    try {
      copy.append(name, item)
    } catch {
      // Not a valid entry of this class any more: left out rather than shown unredacted.
    }
  }
  return copy
}
