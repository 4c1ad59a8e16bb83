/**
 * @module redact-own-props
 * Redacting an object copied for what it keeps in internal slots (a Web multimap, a `Request`, a
 * `Response`): its own enumerable properties are what a JSON logger prints of it (a subclass's
 * fields, what a library set on it: ofetch's `response._data`), so they are walked as an object's
 * are and set on the copy.
 */
import { type FetchClass, fetchClassOf, isFetchClass, walkFetchMessage } from './redact-fetch.js'
import {
  type WebMultimap,
  type WebMultimapClass,
  walkMultimap,
  webMultimapOf,
} from './redact-multimaps.js'
import type { PathNode } from './redact-paths.js'
import type { RedactWalker } from './redact-walker.js'

/** A class whose instances keep their data in internal slots. */
export type SlottedClass = WebMultimapClass | FetchClass

/** The class `value` is an instance of, if one keeping its data in internal slots. */
export function slottedClassOf(value: object): SlottedClass | undefined {
  return webMultimapOf(value) ?? fetchClassOf(value)
}

/**
 * `value`, an instance of `Class` (see `slottedClassOf`), redacted: itself when neither its slots
 * nor its own properties changed, else its class's copy (made even when only its own properties
 * changed) with the walked properties set on it.
 */
export function walkWithOwnProps(
  w: RedactWalker,
  value: object,
  Class: SlottedClass,
  depth: number,
  nodes: PathNode[] | undefined,
  proto: object | null
): unknown {
  // The walked properties land on a prototype-less object: one with the class's prototype
  // would run its setters (or throw on its getter-only `url`).
  const own = w.walkObject(value, depth, nodes, proto, null) as Record<string, unknown>
  const force = own !== value
  const copy = isFetchClass(Class)
    ? walkFetchMessage(w, value as Request | Response, Class, nodes, force)
    : walkMultimap(w, value as WebMultimap, Class, nodes, force)
  if (own === value || typeof copy !== 'object' || copy === null) return copy
  for (const key of Object.keys(own)) {
    Object.defineProperty(copy, key, {
      value: own[key],
      writable: true,
      enumerable: true,
      configurable: true,
    })
  }
  return copy
}
