/**
 * @module redact-errors
 * Redacting an `Error` (any subclass, a DOMException included) into a copy that keeps its class.
 * An error's own properties (message, stack, cause, a subclass's fields) are walked. A message a
 * prototype getter computes (a DOMException's, kept in an internal slot; a class's own getter) is
 * read too, since loggers read `err.message`: the copy holds it redacted as its own (the getter
 * would read the original's hidden state, or throw on a copy). A DOMException's copy is a real
 * DOMException: a plain object on its prototype throws when its `message` is read or it is
 * inspected.
 */
import { lowerKey } from './redact-keys.js'
import { type PathNode, step } from './redact-paths.js'
import { MIN_SCAN_LENGTH } from './redact-patterns.js'
import type { RedactWalker } from './redact-walker.js'

const WebDOMException =
  typeof globalThis.DOMException === 'function' ? globalThis.DOMException : undefined

/**
 * What own property `key` of `err` holds: a data property's value, or `stack` read through its
 * getter; undefined for another accessor (or a throwing `stack`). On Node 24 (V8 12+) `stack` is
 * an own accessor whose getter only works on the original error, so it is read here and copied
 * as a plain value.
 */
function readOwn(err: Error, key: string, desc: PropertyDescriptor): { item: unknown } | undefined {
  if ('value' in desc) return { item: desc.value }
  if (key !== 'stack') return undefined
  try {
    return { item: err.stack }
  } catch {
    return undefined
  }
}

/** Sets `key` of `obj` as a writable, configurable data property holding `value`. */
function defineValue(obj: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable, configurable: true })
}

/**
 * A copy of `err` of the same class with its own properties (accessors read into values), and
 * `message` (the redacted inherited one), when defined, as its own.
 */
function copyError(err: Error, dom: boolean, message: string | undefined): Record<string, unknown> {
  const base = (
    dom
      ? new (WebDOMException as typeof DOMException)(message ?? '', err.name)
      : Object.create(Object.getPrototypeOf(err))
  ) as Record<string, unknown>
  for (const k of Object.getOwnPropertyNames(err)) {
    const d = Object.getOwnPropertyDescriptor(err, k)
    if (d === undefined) continue
    const v = readOwn(err, k, d)
    if ('value' in d || v === undefined) Object.defineProperty(base, k, d)
    else defineValue(base, k, v.item, d.enumerable ?? false)
  }
  if (message !== undefined && !dom) defineValue(base, 'message', message, false)
  return base
}

/** `err` redacted: itself when nothing in it changed, else a copy of the same class. */
export function walkError(
  w: RedactWalker,
  err: Error,
  depth: number,
  nodes: PathNode[] | undefined
): unknown {
  let copy: Record<string, unknown> | undefined
  const dom = WebDOMException !== undefined && err instanceof WebDOMException
  let message: string | undefined
  let messageChanged = false
  if (!Object.hasOwn(err, 'message')) {
    let inherited: unknown
    try {
      inherited = err.message
    } catch {
      // A throwing getter: nothing to show, so nothing to redact.
    }
    if (typeof inherited === 'string') {
      const messageNodes = nodes === undefined ? undefined : step(nodes, 'message')
      message = w.censored('message', messageNodes)
        ? w.censor
        : inherited.length < MIN_SCAN_LENGTH
          ? inherited
          : w.redactString(inherited)
      messageChanged = message !== inherited
    }
  }
  // message, stack and cause are own but not enumerable: walk every own string key.
  for (const key of Object.getOwnPropertyNames(err)) {
    const desc = Object.getOwnPropertyDescriptor(err, key)
    const read = desc === undefined ? undefined : readOwn(err, key, desc)
    if (desc === undefined || read === undefined) continue
    const item = read.item
    const childNodes = nodes === undefined ? undefined : step(nodes, lowerKey(key))
    const out = w.censored(key, childNodes) ? w.censor : w.walk(item, depth + 1, childNodes)
    if (out !== item) {
      copy ??= copyError(err, dom, message)
      defineValue(copy, key, out, desc.enumerable ?? false)
    }
  }
  if (messageChanged) copy ??= copyError(err, dom, message)
  return copy ?? err
}
