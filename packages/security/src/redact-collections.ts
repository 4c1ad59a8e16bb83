/**
 * @module redact-collections
 * Redacting a `Map` and a `Set` into a new one of the same kind when anything in it changed. A
 * Map's string keys are matched as an object's keys are (key names, paths) and scanned, since a
 * secret can be a key too (a token used as a map key); a Set's items are matched as an array's.
 */
import { lowerKey } from './redact-keys.js'
import { type PathNode, step } from './redact-paths.js'
import type { RedactWalker } from './redact-walker.js'

export function walkMap(
  w: RedactWalker,
  map: Map<unknown, unknown>,
  depth: number,
  nodes: PathNode[] | undefined
): unknown {
  let changed = false
  const entries: [unknown, unknown][] = []
  for (const [k, item] of map) {
    let out: unknown
    if (typeof k === 'string') {
      const childNodes = nodes === undefined ? undefined : step(nodes, lowerKey(k))
      out = w.censored(k, childNodes) ? w.censor : w.walk(item, depth + 1, childNodes)
    } else {
      out = w.walk(item, depth + 1, undefined)
    }
    const outKey = typeof k === 'string' ? w.redactString(k) : k
    if (out !== item || outKey !== k) changed = true
    entries.push([outKey, out])
  }
  return changed ? new Map(entries) : map
}

export function walkSet(
  w: RedactWalker,
  set: Set<unknown>,
  depth: number,
  nodes: PathNode[] | undefined
): unknown {
  let changed = false
  const items: unknown[] = []
  for (const item of set) {
    const out = w.walk(item, depth + 1, nodes === undefined ? undefined : step(nodes, '*'))
    if (out !== item) changed = true
    items.push(out)
  }
  return changed ? new Set(items) : set
}
