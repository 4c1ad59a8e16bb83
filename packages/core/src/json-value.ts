/**
 * @module json-value
 * `parseJsonBody`'s guarantees for a value some other parser built (an Express `express.json()`
 * that ran before the kit, whose `req.body` `ctx.json()` reuses): nesting depth, the number of
 * object members, and no `__proto__` key or `constructor.prototype`, with the same 400 errors.
 */
import type { InvalidRequestError } from './errors.js'
import {
  DEFAULT_MAX_JSON_KEYS,
  type JsonParseOptions,
  jsonDepthError,
  jsonKeysError,
  jsonProtoKeyError,
} from './json-body.js'

/**
 * Checks a parsed JSON value as `parseJsonBody` checks text: depth (objects and arrays, the root
 * counting 1) within `maxDepth`, at most `options.maxKeys` object members in all (default
 * 10 000), no own `__proto__` key nor a `constructor` object holding `prototype` (400, or deleted
 * with `protoAction: 'remove'`). One iterative walk (no recursion: any depth is safe), linear in
 * the value's size; a cyclic value ends at the depth limit. Throws 400 `INVALID_REQUEST`.
 */
export function assertJsonValue(
  value: unknown,
  maxDepth: number,
  options: JsonParseOptions = {}
): void {
  const error = checkJsonValue(value, maxDepth, options)
  if (error !== undefined) throw error
}

function checkJsonValue(
  root: unknown,
  maxDepth: number,
  options: JsonParseOptions
): InvalidRequestError | undefined {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_JSON_KEYS
  const remove = options.protoAction === 'remove'
  // Parallel stacks: the value and its depth (the root object is depth 1, as `[` counts 1).
  const values: object[] = []
  const depths: number[] = []
  if (typeof root === 'object' && root !== null) {
    values.push(root)
    depths.push(1)
  }
  let keys = 0
  while (values.length > 0) {
    const value = values.pop()!
    const depth = depths.pop()!
    if (depth > maxDepth) return jsonDepthError(maxDepth)
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'object' && item !== null) {
          values.push(item)
          depths.push(depth + 1)
        }
      }
      continue
    }
    const obj = value as Record<string, unknown>
    if (Object.hasOwn(obj, '__proto__')) {
      if (!remove) return jsonProtoKeyError()
      Reflect.deleteProperty(obj, '__proto__')
    }
    const ctor = Object.hasOwn(obj, 'constructor') ? obj.constructor : undefined
    if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) {
      if (!remove) return jsonProtoKeyError()
      Reflect.deleteProperty(obj, 'constructor')
    }
    const names = Object.keys(obj)
    keys += names.length
    if (keys > maxKeys) return jsonKeysError(maxKeys)
    for (const name of names) {
      const child = obj[name]
      if (typeof child === 'object' && child !== null) {
        values.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return undefined
}
