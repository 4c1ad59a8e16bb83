/**
 * @module redact-walk
 * The walk of one redactor over a value: copy-on-write over plain objects and arrays (the hot
 * path), strings scanned and cut, cycles and depth bounded, `toJSON` followed; other kinds
 * (errors, URLs, maps and sets, Web objects, bytes, command arguments) handed to their walkers.
 *
 * Nothing is allocated for a subtree without secrets, and only the objects on the way to a
 * censored value are shallow-copied. The walk's functions close over the resolved options, are
 * made once per redactor and make no closure per value: keep it so, V8 inlines them.
 */
import { walkBytes } from './redact-bytes.js'
import { walkMap, walkSet } from './redact-collections.js'
import { walkCommandArgs } from './redact-commands.js'
import { walkError } from './redact-errors.js'
import { createKeyKinds, SENSITIVE_KEY } from './redact-key-kinds.js'
import { lowerKey } from './redact-keys.js'
import type { RedactorConfig } from './redact-options.js'
import { slottedClassOf, walkWithOwnProps } from './redact-own-props.js'
import { anyTerminal, type PathNode, step } from './redact-paths.js'
import { MIN_SCAN_LENGTH, redactSecrets } from './redact-patterns.js'
import { redactedHead } from './redact-truncate.js'
import type { RedactWalker } from './redact-walker.js'

const CIRCULAR = '[circular]'
const TOO_DEEP = '[max depth]'
const TRUNCATED = '…[truncated]'

const plainProto = Object.prototype

/** An object that serialises through its own method. */
type WithToJSON = { toJSON: (key: string) => unknown }

/**
 * The redaction function of the options `config`: a redacted copy of a value (or the value
 * itself when nothing changed). It never throws.
 */
export function createWalk(config: RedactorConfig): (value: unknown) => unknown {
  const { censor, keepPrefix, maxDepth, maxStringLength, rootNodes, scanner } = config
  const {
    cache: keyKinds,
    keyKind,
    sensitiveKey,
    namesCredential,
    recordNamesCredential,
  } = createKeyKinds(config.sensitive, config.credentialKeys, redactString)
  /** What the walkers of the other kinds call back into. */
  const walker: RedactWalker = {
    censor,
    scans: scanner !== undefined,
    walk,
    walkObject,
    redactString,
    censored,
  }

  /** Ancestors of the value being walked, by depth, for cycle detection. */
  const ancestors: object[] = []

  const scan = (s: string): string => redactSecrets(s, scanner!, censor, keepPrefix)

  function redactString(s: string): string {
    if (s.length > maxStringLength) {
      if (scanner === undefined) return s.slice(0, maxStringLength) + TRUNCATED
      return redactedHead(s, maxStringLength, scan, censor) + TRUNCATED
    }
    if (scanner === undefined) return s
    return redactSecrets(s, scanner, censor, keepPrefix)
  }

  /** Whether the value under `key` is censored whole; `nodes` are the path nodes reached. */
  function censored(key: string, nodes: PathNode[] | undefined): boolean {
    return sensitiveKey(key) || (nodes !== undefined && anyTerminal(nodes))
  }

  // Hot path: primitives are handled inline by the callers, so `walk` sees strings and objects.
  function walk(value: unknown, depth: number, nodes: PathNode[] | undefined): unknown {
    if (typeof value === 'string') {
      return value.length < MIN_SCAN_LENGTH ? value : redactString(value)
    }
    if (typeof value !== 'object' || value === null) return value
    if (depth >= maxDepth) return TOO_DEEP
    // `ancestors[0..depth)` is the path from the root: a value found there is a cycle.
    for (let i = 0; i < depth; i++) if (ancestors[i] === value) return CIRCULAR
    ancestors[depth] = value
    return walkObjectLike(value, depth, nodes, true)
  }

  /** `viaToJSON`: an object with a `toJSON` method is redacted as what it serialises to. */
  function walkObjectLike(
    value: object,
    depth: number,
    nodes: PathNode[] | undefined,
    viaToJSON: boolean
  ): unknown {
    if (Array.isArray(value)) return walkArray(value, depth, nodes)
    const proto = Object.getPrototypeOf(value)
    if (proto === plainProto || proto === null) {
      if (viaToJSON && typeof (value as WithToJSON).toJSON === 'function') {
        return walkToJSON(value as WithToJSON, depth, nodes, proto)
      }
      return walkObject(value, depth, nodes, proto)
    }
    if (value instanceof Error) return walkError(walker, value, depth, nodes)
    if (value instanceof URL) {
      // A URL object serialises to its href (JSON.stringify, util.inspect): scan it like a string.
      const href = redactString(value.href)
      if (href === value.href) return value
      return URL.canParse(href) ? new URL(href) : href
    }
    if (value instanceof Map) return walkMap(walker, value, depth, nodes)
    if (value instanceof Set) return walkSet(walker, value, depth, nodes)
    const slotted = slottedClassOf(value)
    if (slotted !== undefined) return walkWithOwnProps(walker, value, slotted, depth, nodes, proto)
    if (value instanceof Uint8Array) return walkBytes(walker, value)
    if (
      ArrayBuffer.isView(value) ||
      value instanceof ArrayBuffer ||
      value instanceof Date ||
      value instanceof RegExp ||
      value instanceof Promise ||
      value instanceof WeakMap ||
      value instanceof WeakSet
    ) {
      return value
    }
    if (viaToJSON && typeof (value as WithToJSON).toJSON === 'function') {
      return walkToJSON(value as WithToJSON, depth, nodes, proto)
    }
    return walkObject(value, depth, nodes, proto)
  }

  /**
   * An object with its own serialisation (`toJSON`, own or inherited: defineEnv's env object,
   * which hides its secrets there; a class instance): what a JSON logger writes is what `toJSON`
   * returns, so that is what is redacted. A copy of the properties would lose the method, and
   * with it what it hides. As in `JSON.stringify`, the result's own `toJSON` is not called.
   */
  function walkToJSON(
    value: WithToJSON,
    depth: number,
    nodes: PathNode[] | undefined,
    proto: object | null
  ): unknown {
    const json = value.toJSON('')
    if (json === value) return walkObject(value, depth, nodes, proto)
    if (typeof json === 'string') return json.length < MIN_SCAN_LENGTH ? json : redactString(json)
    if (typeof json !== 'object' || json === null) return json
    for (let i = 0; i < depth; i++) if (ancestors[i] === json) return CIRCULAR
    ancestors[depth] = json
    return walkObjectLike(json, depth, nodes, false)
  }

  /**
   * An array; a string item naming a credential censors the item after it, as a key would its
   * value: `req.rawHeaders` (`['Authorization', '…', 'Cookie', '…']`), `[name, value]` pairs
   * (`Object.entries`, a `Headers`' entries), argument lists (`['--password', '…']`).
   */
  function walkArray(arr: unknown[], depth: number, nodes: PathNode[] | undefined): unknown {
    let copy: unknown[] | undefined
    let valueOfName = false
    for (let i = 0; i < arr.length; i++) {
      const item = arr[i]
      const childNodes = nodes === undefined ? undefined : step(nodes, String(i))
      let out: unknown
      if (valueOfName || (childNodes !== undefined && anyTerminal(childNodes))) {
        out = valueOfName && item === undefined ? item : censor
        valueOfName = false
      } else {
        out = walk(item, depth + 1, childNodes)
        valueOfName = namesCredential(item)
      }
      if (out !== item) {
        copy ??= arr.slice()
        copy[i] = out
      }
    }
    return copy ?? arr
  }

  /** `copyProto`: the prototype of the copy made when something changed (`proto` by default). */
  function walkObject(
    obj: object,
    depth: number,
    nodes: PathNode[] | undefined,
    proto: object | null,
    copyProto: object | null = proto
  ): unknown {
    let copy: Record<string, unknown> | undefined
    const plain = proto === plainProto || proto === null
    // for-in on a plain object uses V8's enum cache for the keyed loads (measured faster than
    // Object.keys here); class instances go through Object.keys to skip inherited keys.
    for (const key in obj) {
      if (!plain && !Object.hasOwn(obj, key)) continue
      const item = (obj as Record<string, unknown>)[key]
      // A secret can be a key too (a token used as a map key), as for Map keys.
      let kind = keyKinds.get(key)
      let outKey = key
      if (kind === undefined) {
        if (key.length >= MIN_SCAN_LENGTH) outKey = redactString(key)
        kind = keyKind(key, outKey)
      }
      const childNodes = nodes === undefined ? undefined : step(nodes, lowerKey(key))
      let out: unknown
      if (
        kind === SENSITIVE_KEY ||
        (childNodes !== undefined && anyTerminal(childNodes)) ||
        ((key === 'value' || key === 'Value') && recordNamesCredential(obj))
      ) {
        out = item === undefined ? item : censor
      } else if (key === 'args' && Array.isArray(item)) {
        out = walkCommandArgs(walker, obj, item, depth, childNodes)
      } else if (typeof item === 'string') {
        out = item.length < MIN_SCAN_LENGTH ? item : redactString(item)
      } else if (typeof item !== 'object' || item === null) out = item
      else out = walk(item, depth + 1, childNodes)
      if (out !== item || outKey !== key) {
        if (copy === undefined) {
          copy =
            copyProto === plainProto ? { ...obj } : Object.assign(Object.create(copyProto), obj)
        }
        if (outKey !== key) delete copy![key]
        copy![outKey] = out
      }
    }
    return copy ?? obj
  }

  return function redactValue(value: unknown): unknown {
    try {
      return walk(value, 0, rootNodes)
    } catch {
      // A throwing getter or proxy: never let redaction crash the logger, and never leak.
      return censor
    } finally {
      ancestors.length = 0 // hold no reference to the caller's objects
    }
  }
}
