/**
 * @module json-data
 * A job's params are stored as JSON (BullMQ's job data) and hashed into its dedupe key: they must
 * be JSON data. A BigInt, a function, a symbol or a cycle would otherwise surface as a raw
 * `TypeError` / `RangeError` (a 500), or be dropped silently from the request; NaN / Infinity
 * (written `null`), a Map, a Set or a class instance (written `{}` or its own fields) would be
 * changed silently. A `toJSON` is honoured, and what it returns is checked the same way.
 */
import { InvalidRequestError } from '@aikit/core'

// Deeper than any request (a tool's JSON schema included); deeper would exhaust the stack.
const MAX_DEPTH = 1000

/** Throws `InvalidRequestError` (400, `details.field` = the path) when `value` is not JSON data. */
export function checkJsonData(value: unknown, path: string): void {
  const ancestors = new Set<object>()
  // `key` is what `JSON.stringify` passes to a `toJSON`; `own` is a `toJSON`'s result (JSON does
  // not call a `toJSON` on it again).
  const visit = (input: unknown, at: string, key: string, depth: number, own = false): void => {
    let v = input
    if (!own && v !== null && typeof v === 'object') {
      const toJSON = (v as { toJSON?: unknown }).toJSON
      // A `toJSON` (a Date, a URL) decides its own JSON: what it returns is checked instead.
      if (typeof toJSON === 'function') {
        try {
          v = toJSON.call(v, key)
        } catch (error) {
          refuse(at, `has a toJSON that throws (${(error as Error)?.message ?? String(error)})`)
        }
        visit(v, at, key, depth, true)
        return
      }
    }
    const type = typeof v
    if (type === 'bigint' || type === 'function' || type === 'symbol') refuse(at, `is a ${type}`)
    // JSON writes NaN and ±Infinity as `null`: a limit of Infinity would be sent as no limit.
    if (type === 'number' && !Number.isFinite(v)) refuse(at, `is ${String(v)}`)
    if (v === null || type !== 'object') return
    if (depth > MAX_DEPTH) {
      throw new InvalidRequestError(`${at} is nested too deeply (over ${MAX_DEPTH} levels)`, {
        details: { field: at },
      })
    }
    const obj = v as object
    if (ancestors.has(obj)) refuse(at, 'refers to itself (a cycle)')
    // A Map, a Set or a class instance keeps its state where JSON does not look (it would be
    // stored as `{}` or as its own fields only): plain objects (null prototype too) and arrays only.
    if (!Array.isArray(obj) && !isPlain(obj)) {
      refuse(at, `is a ${obj.constructor?.name ?? 'non-plain object'}, not a plain object or array`)
    }
    ancestors.add(obj)
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) visit(obj[i], `${at}[${i}]`, String(i), depth + 1)
    } else {
      for (const k of Object.keys(obj)) {
        let item: unknown
        try {
          item = (obj as Record<string, unknown>)[k]
        } catch (error) {
          // A getter that throws: a 400 naming it, not a raw error (a 500).
          refuse(
            `${at}.${k}`,
            `has a getter that throws (${(error as Error)?.message ?? String(error)})`
          )
        }
        if (item !== undefined) visit(item, `${at}.${k}`, k, depth + 1)
      }
    }
    ancestors.delete(obj)
  }
  visit(value, path, '', 0)
}

/** An object literal's kind: its prototype is `Object.prototype` (of any realm) or `null`. */
function isPlain(obj: object): boolean {
  const proto = Object.getPrototypeOf(obj) as object | null
  return proto === null || Object.getPrototypeOf(proto) === null
}

function refuse(at: string, what: string): never {
  throw new InvalidRequestError(`${at} ${what}: a job's params must be JSON data`, {
    details: { field: at },
  })
}
