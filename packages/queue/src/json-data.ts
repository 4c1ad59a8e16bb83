/**
 * @module json-data
 * A job's params are stored as JSON (BullMQ's job data) and hashed into its dedupe key: they must
 * be JSON data. A BigInt, a function, a symbol or a cycle would otherwise surface as a raw
 * `TypeError` / `RangeError` (a 500), or be dropped silently from the request.
 */
import { InvalidRequestError } from '@aikit/core'

// Deeper than any request (a tool's JSON schema included); deeper would exhaust the stack.
const MAX_DEPTH = 1000

/** Throws `InvalidRequestError` (400, `details.field` = the path) when `value` is not JSON data. */
export function checkJsonData(value: unknown, path: string): void {
  const ancestors = new Set<object>()
  const visit = (v: unknown, at: string, depth: number): void => {
    const type = typeof v
    if (type === 'bigint' || type === 'function' || type === 'symbol') {
      throw new InvalidRequestError(`${at} is a ${type}: a job's params must be JSON data`, {
        details: { field: at },
      })
    }
    if (v === null || type !== 'object') return
    if (depth > MAX_DEPTH) {
      throw new InvalidRequestError(`${at} is nested too deeply (over ${MAX_DEPTH} levels)`, {
        details: { field: at },
      })
    }
    const obj = v as object
    if (ancestors.has(obj)) {
      throw new InvalidRequestError(
        `${at} refers to itself (a cycle): a job's params must be JSON data`,
        { details: { field: at } }
      )
    }
    // A `toJSON` (a Date) decides its own JSON: nothing inside it is stored as is.
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return
    ancestors.add(obj)
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) visit(obj[i], `${at}[${i}]`, depth + 1)
    } else {
      for (const [k, item] of Object.entries(obj)) {
        if (item !== undefined) visit(item, `${at}.${k}`, depth + 1)
      }
    }
    ancestors.delete(obj)
  }
  visit(value, path, 0)
}
