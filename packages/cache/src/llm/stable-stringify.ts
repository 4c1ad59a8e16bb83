/**
 * @module llm/stable-stringify
 * Canonical JSON: object keys sorted, `undefined` members dropped (as `JSON.stringify` does), so two
 * requests that differ only in key order produce the same text.
 */

/** Nesting deeper than this is refused (a TypeError) before the call stack runs out. */
export const MAX_DEPTH = 1000

/**
 * Canonical JSON text of `value`. Throws `TypeError` on cycles, BigInt, or nesting deeper than
 * `MAX_DEPTH` levels.
 */
export function stableStringify(value: unknown): string {
  return write(value, new Set(), 0)
}

function write(value: unknown, seen: Set<object>, depth: number): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      // -0 and 0 are the same parameter value; non-finite numbers become null as in JSON.
      return Number.isFinite(value) ? JSON.stringify(value === 0 ? 0 : value) : 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null'
    case 'bigint':
      throw new TypeError('stableStringify: BigInt is not supported')
  }
  const obj = value as object
  if (seen.has(obj)) throw new TypeError('stableStringify: circular structure')
  if (depth >= MAX_DEPTH) {
    throw new TypeError(`stableStringify: nested deeper than ${MAX_DEPTH} levels`)
  }
  const toJSON = (obj as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return write(toJSON.call(obj), seen, depth + 1)
  seen.add(obj)
  let out: string
  if (Array.isArray(obj)) {
    out = `[${obj.map((item) => write(item, seen, depth + 1)).join(',')}]`
  } else if (obj instanceof Uint8Array) {
    out = JSON.stringify(Array.from(obj))
  } else {
    const record = obj as Record<string, unknown>
    const parts: string[] = []
    for (const key of Object.keys(record).sort()) {
      const member = record[key]
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol')
        continue
      parts.push(`${JSON.stringify(key)}:${write(member, seen, depth + 1)}`)
    }
    out = `{${parts.join(',')}}`
  }
  seen.delete(obj)
  return out
}
